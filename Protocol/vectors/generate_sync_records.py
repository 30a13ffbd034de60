#!/usr/bin/env python3
"""Writes Protocol/vectors/sync-records.json: golden vectors of the sync record form.

An independent implementation of PROTOCOL.md §16.2 "Record forms" and "Canonical JSON", with
nothing from the Swift code and no JSON library defaults: the canonical writer below follows the
spec's rules one by one, and the checksum is hashlib's SHA-256 over the bytes §16.2 lists. The
Swift test (Tests/DunlinStoreTests/SyncRecordVectorTests.swift) builds the same records from
DunlinCore values, encodes them and compares bytes and checksum with this file; so can a client
in any language.

    python3 Protocol/vectors/generate_sync_records.py

The file holds:

- `records`: one SyncRecord of each kind (and a tombstone), as a batch would carry them: `kind`,
  `id`, `seq`, and `fields`, a JSON string whose UTF-8 encoding is exactly the bytes of the
  record's `fields`.
- `packed_hex`: for a ledger entry or an activity, the bytes of its packed form (§16.2 "Packed
  forms"), which is how it travels: a `SyncRecord`'s `ledger_entry` or `activity`.
- `checksum_hex`: SyncBatch.checksum of a batch holding these records in this order, each in the
  form it travels in (the packed bytes where there are some, `fields` otherwise).
"""
import hashlib
import json
import os

SHORT_ESCAPES = {0x22: '\\"', 0x5C: '\\\\', 0x08: '\\b', 0x09: '\\t', 0x0A: '\\n', 0x0C: '\\f', 0x0D: '\\r'}


def canonical_string(text):
    out = ['"']
    for character in text:
        code = ord(character)
        if code in SHORT_ESCAPES:
            out.append(SHORT_ESCAPES[code])
        elif code < 0x20:
            out.append('\\u%04x' % code)
        else:
            out.append(character)  # everything else as itself: '/', DEL, non-ASCII, U+2028
    out.append('"')
    return ''.join(out)


def canonical(value):
    """The canonical JSON text of a value; the caller encodes it as UTF-8."""
    if value is None:
        return 'null'
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    if isinstance(value, int):
        assert -2**31 <= value < 2**31, 'only int32 fields are JSON numbers; int64 travels as a string'
        return str(value)
    if isinstance(value, str):
        return canonical_string(value)
    if isinstance(value, list):
        return '[' + ','.join(canonical(item) for item in value) + ']'
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: key.encode('utf-8'))
        return '{' + ','.join(canonical_string(key) + ':' + canonical(value[key]) for key in keys) + '}'
    raise TypeError(value)


def amount(currency, minor):
    return {'currency': currency, 'minor': str(minor)}


REPLICA = 'r4f1c2a9b7d3e4f5061728394a5b6c7d8'

RECORDS = [
    ('customer', 'C-1001', 3, {
        'id': 'C-1001', 'number': '1001', 'name': 'Globe Telecom "Retail"',
        'billing_address': '12/F Tower One, Ayala Ave\nMakati City', 'payment_terms_days': 30,
        'credit_limit': amount('PHP', 10**15), 'risk_rating': 4, 'analyst_id': 'u-ana', 'time_zone': 'Asia/Manila',
        'language': 'fil', 'portal_billing': '', 'portal_upload_days': None, 'tags': ['key', 'ph'], 'phone': '+63 2 8888 0000', '_deleted': False,
    }),
    ('ledger_entry', 'INV-1042', 4, {
        'id': 'INV-1042', 'kind': 'invoice', 'customer_id': 'C-1001', 'amount': amount('PHP', 1250050),
        'date': '2026-11-01', 'due_date': '2026-12-01', 'reference': 'INV-1042', 'source_id': None, 'target_id': None,
        'memo': 'Kasunduan \u2116 7 \u2014 \u20b112,500.50',
    }),
    ('ledger_entry', 'ADJ-7', 5, {
        'id': 'ADJ-7', 'kind': 'adjustment', 'customer_id': 'C-1001', 'amount': amount('PHP', -50000),
        'date': '2026-11-02', 'due_date': None, 'reference': '', 'source_id': None, 'target_id': 'INV-1042',
        'memo': 'late fee waived',
    }),
    ('activity', 'ACT-1', 6, {
        'id': 'ACT-1', 'customer_id': 'C-1001', 'kind': 'call', 'direction': 'outbound',
        'outcome': 'promised 5,000 by Friday', 'author_id': 'u-ana', 'occurred_at': '1795000000123',
        'body': 'Rosa said:\t"next week" \\ maybe',
    }),
    ('contact', 'K1', 7, {
        'id': 'K1', 'customer_id': 'C-1001', 'name': 'Rosa Cruz', 'role': 'AP clerk', 'email': 'rosa.cruz@globe.example',
        'phone': '', 'preferred_channel': 'email', '_deleted': False,
    }),
    ('dispute', 'D-1', 8, {
        'id': 'D-1', 'customer_id': 'C-1001', 'invoice_ids': ['INV-1042'], 'amount': amount('PHP', 250000),
        'reason_code': 'pricing', 'status': 'resolved', 'owner_team': 'customer_service', 'opened_on': '2026-11-05',
        'resolved_on': '2026-11-12', 'note': '', '_deleted': False,
    }),
    ('promise_to_pay', 'P-1', 9, {
        'id': 'P-1', 'customer_id': 'C-1001', 'invoice_ids': ['INV-1042'], 'amount': amount('PHP', 1000000),
        'made_on': '2026-11-10', 'promised_date': '2026-12-20', 'status': 'partly_kept', 'note': 'half by the 20th',
        'installments': [
            {'due_date': '2026-11-20', 'amount': amount('PHP', 500000)},
            {'due_date': '2026-12-20', 'amount': amount('PHP', 500000)},
        ],
        '_deleted': False,
    }),
    ('collection_task', 'T-1', 10, {
        'id': 'T-1', 'assignee_id': 'u-ana', 'customer_id': 'C-1001', 'title': 'call Rosa about INV-1042',
        'due_date': '2026-11-30', 'done': False, 'notes': '', '_deleted': False,
    }),
    ('sync_conflict', 'cfl_dispute_D-1_amount_server_11', 11, {
        'id': 'cfl_dispute_D-1_amount_server_11', 'record_kind': 'dispute', 'record_id': 'D-1', 'field': 'amount',
        'kept': amount('PHP', 250000), 'kept_by': REPLICA, 'kept_at': '1795000100000',
        'lost': amount('PHP', 200000), 'lost_by': 'server', 'lost_at': '1794999900000',
        'status': 'settled', 'settled_by': 'u-ben', 'kept_by_user': 'u-ana', 'kept_device': 'ana-laptop',
        'lost_by_user': '', 'lost_device': '', 'outcome': 'kept', 'settled_at': '1795000200000', '_deleted': False,
    }),
    ('contact', 'K2', 12, {
        'id': 'K2', 'customer_id': 'C-1001', 'name': 'Old AP', 'role': '', 'email': '', 'phone': '+63 2 8888 0001',
        'preferred_channel': 'phone', '_deleted': True,
    }),
    # A policy's levels and a notice's lines and charges are arrays of objects, each object with
    # every field of its form (null for an absent optional one).
    ('dunning_policy', 'POL-1', 13, {
        'id': 'POL-1', 'name': 'Standard "SMB"', 'segment': 'smb', 'customer_ids': ['C-1001'],
        'levels': [
            {'days': -5, 'channel': 'email', 'template': 'friendly_reminder', 'fee': None, 'interest_basis_points': 0},
            {'days': 30, 'channel': 'letter', 'template': 'second_notice', 'fee': amount('PHP', 50000),
             'interest_basis_points': 1850},
        ],
        '_deleted': False,
    }),
    ('dunning_hold', 'HOLD-1', 14, {
        'id': 'HOLD-1', 'customer_id': 'C-1001', 'reason': 'CFO on leave until the 15th', 'placed_on': '2026-11-03',
        'released_on': '2026-11-16', 'release_reason': 'back at work', '_deleted': False,
    }),
    # Interest: 1,200,050 centavos x 1850 bp x 30 days / (10,000 x 365) = 18,247.34..., rounded once: 18,247.
    ('dunning_notice', 'DN:C-1001:30:INV-1042', 15, {
        'id': 'DN:C-1001:30:INV-1042', 'run_id': 'R-2026-12-31', 'customer_id': 'C-1001', 'policy_id': 'POL-1',
        'level': 2, 'level_days': 30, 'channel': 'letter', 'template': 'second_notice', 'as_of': '2026-12-31',
        'anchor_invoice_id': 'INV-1042',
        'lines': [{'invoice_id': 'INV-1042', 'reference': 'INV-1042', 'due_date': '2026-12-01', 'days_past_due': 30,
                   'balance': amount('PHP', 1200050)}],
        'charges': [{'total': amount('PHP', 1200050), 'interest': amount('PHP', 1200050 * 1850 * 30 // 3650000),
                     'fee': amount('PHP', 50000)}],
        'status': 'released', 'status_reason': '', 'created_at': '1798700000000', 'released_at': '1798700100000',
        'released_by': 'u-ben', 'delivery': 'sent', 'delivered_as': 'letter', 'delivered_at': '1798700200000',
        'delivery_detail': 'letter written to outbox/demo/letters/DN_C-1001_30_INV-1042-1a2b3c4d.html', 'delivery_attempts': 0,
        '_deleted': False,
    }),
    ('tenant_setting', 'dunning.run_time', 16, {'id': 'dunning.run_time', 'value': '06:30', '_deleted': False}),
    ('tenant_setting', 'worklist.broken_promise', 17, {
        'id': 'worklist.broken_promise', 'value': '30', '_deleted': False,
    }),
    ('escalation_rule', 'ER-1', 18, {
        'id': 'ER-1', 'name': 'Twice broken', 'trigger': 'broken_promises', 'days': 0, 'amount': None, 'count': 2,
        'window_days': 90, 'action': 'place', 'agency': 'Acme Recovery', '_deleted': False,
    }),
    ('escalation', 'ESC:ER-1:C-1001:P-1#2', 19, {
        'id': 'ESC:ER-1:C-1001:P-1#2', 'customer_id': 'C-1001', 'action': 'place', 'rule_id': 'ER-1', 'notice_id': '',
        'reason': 'Twice broken: 2 promises broken within 90 days', 'agency': 'Acme Recovery', 'escalated_on': '2026-12-24',
        'summary': 'overdue PHP 12,000.50; oldest item 23 days past due; 2 promises broken in the last 90 days; 0 open disputes',
        'task_id': '', 'assignee_id': '', 'status': 'recalled', 'recalled_on': '2027-01-05', 'recalled_by': 'u-ben',
        'recall_reason': 'paid in full', 'created_at': '1798070400000', '_deleted': False,
    }),
    ('notice_template', 'TPL-first_notice-fil', 20, {
        'id': 'TPL-first_notice-fil', 'name': 'first_notice', 'language': 'fil',
        'subject': 'Lampas na sa takdang petsa: {{amount_due}}', 'recipient': '{{contact.email}}',
        'text': 'Mahal na {{contact.name}},\n{{#lines}}\n{{reference}}: {{balance}}\n{{/lines}}',
        'html': '<p>Mahal na {{contact.name}},</p>{{#lines}}<p>{{reference}}: {{balance}}</p>{{/lines}}', '_deleted': False,
    }),
    ('bank_file', 'bfile_0f1e2d3c4b5a69788796a5b4c3d2e1f0', 21, {
        'id': 'bfile_0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'name': 'BDO-2026-12-01.bai', 'format': 'bai2', 'bytes': '18432',
        'imported_at': '1798790400000', 'imported_by': 'u-ana', 'receipts': 12, 'new_receipts': 11, 'not_credits': 1,
        'credits': 10, 'customer_matches': 9, 'invoice_matches': 7, '_deleted': False,
    }),
    ('bank_receipt', 'rcpt_00112233445566778899aabbccddeeff', 22, {
        'id': 'rcpt_00112233445566778899aabbccddeeff', 'file_id': 'bfile_0f1e2d3c4b5a69788796a5b4c3d2e1f0',
        'identity': 'bai2|0012345678|2026-12-01|BDO-7781', 'format': 'bai2', 'account': '0012345678',
        'amount': amount('PHP', 1700050), 'direction': 'credit', 'booking_date': '2026-12-01', 'value_date': None,
        'type_code': '195', 'bank_reference': 'BDO-7781', 'end_to_end_id': '', 'payer_name': 'GLOBE TELECOM INC',
        'payer_account': '', 'remittance': 'PAYMENT INV1042 / INV-1043', 'creditor_references': [], 'line': 7,
        'outcome': 'partly_matched', 'customer_id': 'C-1001', 'payment_id': 'pay_00112233445566778899aabbccddeeff',
        'applications': [{'invoice_id': 'INV-1042', 'amount': amount('PHP', 1200050), 'rule': 'invoice_number_in_text',
                          'confidence': 90}],
        'suggestions': [{'customer_id': 'C-1001', 'invoice_ids': ['INV-1043'], 'rule': 'invoice_number_in_text',
                         'confidence': 60}],
        'explanation': 'INV-1042 cited in the remittance text as "INV1042"', 'imported_at': '1798790400000', '_deleted': False,
    }),
    # An approved write-off: its entry is the ledger's, under "<id>:writeoff"; terms_days absent (null).
    ('approval_request', 'req_1', 23, {
        'id': 'req_1', 'kind': 'writeoff', 'customer_id': 'C-1001', 'invoice_id': 'INV-1042', 'source_id': '',
        'amount': amount('PHP', 45000), 'terms_days': None, 'reason': 'short-paid freight, not worth chasing',
        'requested_by': 'u-ana', 'requested_on': '2026-12-01', 'status': 'approved', 'decided_by': 'u-ben',
        'decided_on': '2026-12-02', 'decision_reason': 'agreed', '_deleted': False,
    }),
    # A rate in force from a day: its id is the pair's and the day's.
    ('exchange_rate', 'fx_USD_PHP_2026-11-30', 24, {
        'id': 'fx_USD_PHP_2026-11-30', 'from_currency': 'USD', 'to_currency': 'PHP', 'date': '2026-11-30', 'rate': '56.125',
        'source': 'BSP reference rate', '_deleted': False,
    }),
    # A month's close, reopened by an admin: the aging frozen in the base currency, with the allowance.
    ('period_close', 'close_2026-11', 25, {
        'id': 'close_2026-11', 'month': '2026-11', 'through': '2026-11-30', 'status': 'reopened', 'base_currency': 'USD',
        'buckets': [{'label': 'current', 'amount': '10000000', 'rate_basis_points': 100, 'allowance': '100000'},
                    {'label': '90+', 'amount': '200000', 'rate_basis_points': 5000, 'allowance': '100000'}],
        'currencies': [{'currency': 'PHP', 'total': '500000000', 'rate': '56.125', 'inverse': True, 'rate_date': '2026-11-30'},
                       {'currency': 'USD', 'total': '1309106', 'rate': '', 'inverse': False, 'rate_date': ''}],
        'receivables': '10200000', 'allowance': '200000', 'previous_id': 'close_2026-10', 'previous_allowance': '90000',
        'allowance_change': '110000', 'closed_by': 'u-mia', 'closed_on': '2026-12-01', 'closed_seq': '4321', 'reopened_by': 'u-root',
        'reopened_on': '2026-12-02', 'reopen_reason': 'late credit memo', 'post_close_adjustments': 2, '_deleted': False,
    }),
    # A team's calendar: the SLA clock counts in its days, hours and zone, less its holidays.
    ('team_calendar', 'billing-manila', 26, {
        'id': 'billing-manila', 'time_zone': 'Asia/Manila', 'working_days': ['mon', 'tue', 'wed', 'thu', 'fri'], 'opens': '09:00',
        'closes': '18:00', 'holidays': ['2026-11-30', '2026-12-08'], 'members': ['u-ana'], '_deleted': False,
    }),
    # A ticket waiting on the customer, linked to an approval request.
    ('ticket', 'tkt_1', 27, {
        'id': 'tkt_1', 'customer_id': 'C-1001', 'invoice_ids': ['INV-1042'], 'category': 'billing', 'priority': 'high',
        'subject': 'invoice copy', 'status': 'waiting_on_customer', 'team_id': 'billing-manila', 'assignee_id': 'u-ana',
        'opened_at': '1795000000123', 'sla_minutes': 480, 'dispute_id': '', 'request_id': 'req_1', '_deleted': False,
    }),
    # One event of its history (insert-only, no _deleted): a hand-off to New York.
    ('ticket_event', 'tev_1', 28, {
        'id': 'tev_1', 'ticket_id': 'tkt_1', 'kind': 'assigned', 'at': '1795003600000', 'author_id': 'u-ana',
        'team_id': 'billing-newyork', 'assignee_id': 'u-ben', 'note': 'hand-off to New York',
    }),
    # An application: both optional ids present, no due date, an empty memo (left out when packed).
    ('ledger_entry', 'APP-1', 29, {
        'id': 'APP-1', 'kind': 'application', 'customer_id': 'C-1001', 'amount': amount('PHP', 1200050),
        'date': '2026-12-01', 'due_date': None, 'reference': '', 'source_id': 'pay_00112233445566778899aabbccddeeff',
        'target_id': 'INV-1042', 'memo': '',
    }),
    # An activity before 1970-01-01 + 2^31 ms (a one-to-five-byte varint) with an empty outcome.
    ('activity', 'ACT-2', 30, {
        'id': 'ACT-2', 'customer_id': 'C-1001', 'kind': 'note', 'direction': 'none',
        'outcome': '', 'author_id': 'u-ben', 'occurred_at': '86400000', 'body': 'statement sent',
    }),
]


# The packed forms (PROTOCOL.md §16.2 "Packed forms"): protobuf wire format written by hand from
# the rules (tag = field number << 3 | wire type; varints little-endian base 128; a negative int64
# as its 64-bit two's complement, ten bytes), with the fields of sync.proto's LedgerEntryForm and
# ActivityForm in number order; a plain string or integer left out at its default (empty, 0), an
# optional string written exactly when it is not null.
def varint(value):
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def packed(kind, fields):
    if kind == 'ledger_entry':
        layout = [(1, 'kind', 'string'), (2, 'customer_id', 'string'), (3, ('amount', 'currency'), 'string'),
                  (4, ('amount', 'minor'), 'int64'), (5, 'date', 'string'), (6, 'due_date', 'optional'),
                  (7, 'reference', 'string'), (8, 'source_id', 'optional'), (9, 'target_id', 'optional'),
                  (10, 'memo', 'string')]
    elif kind == 'activity':
        layout = [(1, 'customer_id', 'string'), (2, 'kind', 'string'), (3, 'direction', 'string'),
                  (4, 'outcome', 'string'), (5, 'author_id', 'string'), (6, 'occurred_at', 'int64'),
                  (7, 'body', 'string')]
    else:
        return None
    out = bytearray()
    for number, name, wire in layout:
        value = fields[name[0]][name[1]] if isinstance(name, tuple) else fields[name]
        if wire == 'int64':
            value = int(value)
            if value != 0:
                out += varint(number << 3) + varint(value)
        elif wire == 'string' and value == '':
            continue
        elif value is not None:
            data = value.encode('utf-8')
            out += varint(number << 3 | 2) + varint(len(data)) + data
    return bytes(out)


def main():
    records = []
    checksum = hashlib.sha256()
    for kind, record_id, seq, fields in RECORDS:
        data = canonical(fields).encode('utf-8')
        form = packed(kind, fields)
        for part in (kind.encode('utf-8'), record_id.encode('utf-8'), str(seq).encode('ascii'), data if form is None else form):
            checksum.update(part + b'\x00')
        record = {'kind': kind, 'id': record_id, 'seq': seq, 'fields': data.decode('utf-8')}
        if form is not None:
            record['packed_hex'] = form.hex()
        records.append(record)
    document = {
        'description': 'Sync records in the form of PROTOCOL.md §16.2, one of each kind and a tombstone, and the '
                       'SyncBatch checksum of a batch of them in this order: over packed_hex\'s bytes for a record '
                       'that has them (ledger entries and activities travel packed), fields\' otherwise. '
                       'Written by generate_sync_records.py.',
        'records': records,
        'checksum_hex': checksum.hexdigest(),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sync-records.json')
    with open(path, 'w', encoding='utf-8') as out:
        json.dump(document, out, ensure_ascii=False, indent=2)
        out.write('\n')
    print('wrote %d records to %s' % (len(records), path))


if __name__ == '__main__':
    main()
