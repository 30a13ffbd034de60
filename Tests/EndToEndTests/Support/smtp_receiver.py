#!/usr/bin/env python3
"""A small SMTP receiver for Dunlin's end-to-end tests: aiosmtpd on 127.0.0.1, on a port the
system picks, keeping each message it accepts as a file in the folder named on the command line
(the envelope's recipients in a first line "X-Envelope-To: ...", then the message as received).
Prints "listening PORT" once it accepts connections; runs until killed."""
import asyncio
import os
import sys
import uuid

from aiosmtpd.smtp import SMTP


class Keep:
    def __init__(self, folder):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(self.folder, uuid.uuid4().hex)
        with open(name + '.tmp', 'wb') as out:
            out.write(('X-Envelope-To: %s\r\n' % ', '.join(envelope.rcpt_tos)).encode('ascii'))
            out.write(envelope.original_content or envelope.content)
        os.rename(name + '.tmp', name + '.eml')
        return '250 Message accepted for delivery'


async def main(folder):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Keep(folder), hostname='dunlin-test'), '127.0.0.1', 0)
    print('listening %d' % server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


if __name__ == '__main__':
    asyncio.run(main(sys.argv[1]))
