#!/bin/sh
# Replays the rows one import wrote (after.sqlite) into a copy of the tenant before it (before.sqlite),
# in the sqlite3 shell, with the same schema and triggers: the ceiling for the import's writes.
# usage: replay.sh DIR ORDER(id|random) CACHE_KIB [TRIGGERS(per-row|set-aside)]
# set-aside: the ledger's four insert triggers the import's bulk path sets aside (BulkDerivation.setAside)
# are dropped inside the transaction: the inserts alone, without the derivation that follows them.
dir=$1; order=$2; cache=$3; triggers=${4:-per-row}
work=$dir/replay-$order-$cache-$triggers.sqlite
rm -f $work $work-wal $work-shm
cp $dir/before.sqlite $work; [ -f $dir/before.sqlite-wal ] && cp $dir/before.sqlite-wal $work-wal
case $order in id) by="id";; random) by="random()";; esac
case $triggers in
  set-aside) aside="DROP TRIGGER invoice_balance_insert; DROP TRIGGER source_balance_insert; DROP TRIGGER balance_effect; DROP TRIGGER balance_reversal;";;
  *) aside="";;
esac
cat > $dir/replay-$order-$cache-$triggers.sql <<SQL
PRAGMA journal_mode;
PRAGMA synchronous = FULL;
PRAGMA mmap_size = 1073741824;
PRAGMA cache_size = -$cache;
PRAGMA foreign_keys = ON;
ATTACH '$dir/after.sqlite' AS a;
CREATE TEMP TABLE new_entries AS SELECT * FROM a.ledger_entry WHERE id NOT IN (SELECT id FROM main.ledger_entry);
CREATE TEMP TABLE new_receipts AS SELECT * FROM a.bank_receipt WHERE id NOT IN (SELECT id FROM main.bank_receipt);
CREATE TEMP TABLE new_changes AS SELECT * FROM a.change_log WHERE seq > (SELECT MAX(seq) FROM main.change_log);
CREATE TEMP TABLE new_stamps AS SELECT * FROM a.field_stamp WHERE seq > (SELECT MAX(seq) FROM main.change_log);
CREATE TEMP TABLE new_files AS SELECT * FROM a.bank_file WHERE id NOT IN (SELECT id FROM main.bank_file);
CREATE TEMP TABLE new_requests AS SELECT * FROM a.approval_request WHERE id NOT IN (SELECT id FROM main.approval_request);
SELECT (SELECT COUNT(*) FROM new_entries), (SELECT COUNT(*) FROM new_receipts), (SELECT COUNT(*) FROM new_changes), (SELECT COUNT(*) FROM new_stamps), (SELECT COUNT(*) FROM new_requests);
.timer on
BEGIN;
$aside
INSERT INTO main.ledger_entry SELECT * FROM new_entries ORDER BY kind = 'application', $by;
INSERT INTO main.change_log (record_kind, record_id, op, dot_replica, dot_counter, at) SELECT record_kind, record_id, op, dot_replica, dot_counter, at FROM new_changes ORDER BY $( [ $order = id ] && echo "record_id" || echo "random()" );
INSERT INTO main.field_stamp SELECT * FROM new_stamps ORDER BY $( [ $order = id ] && echo "record_id" || echo "random()" );
INSERT INTO main.approval_request SELECT * FROM new_requests;
INSERT INTO main.bank_receipt SELECT * FROM new_receipts ORDER BY $by;
INSERT INTO main.bank_file SELECT * FROM new_files;
COMMIT;
SQL
/usr/bin/time -f "replay $order cache ${cache}KiB triggers $triggers: %e s wall, %U s user, %S s sys, %M KiB max RSS" sqlite3 $work < $dir/replay-$order-$cache-$triggers.sql
