"""A real SMTP server for Trainyard's tests, on loopback, built on aiosmtpd.

    python server.py --dir MAILDIR --port-file FILE [--host 127.0.0.1] [--port 0]
                     [--cert CERT --key KEY] [--user USER --password-file FILE]
                     [--max-lifetime SECONDS (3600; 0: forever)]

Each message it accepts is written to MAILDIR as NNNNNN.eml (the DATA exactly as received,
after dot-unstuffing) beside NNNNNN.json (the envelope: MAIL FROM, RCPT TO, whether the
session was encrypted and who authenticated). Files appear atomically (written, then renamed),
the JSON last, so a reader that sees the JSON sees the whole message.

With --cert/--key it offers STARTTLS; with --user it accepts AUTH PLAIN and LOGIN for that user
only after STARTTLS (as a real submission server does). The port it listens on (useful with
--port 0) is written to --port-file once it accepts connections.
"""
import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument('--dir', required=True)
    p.add_argument('--port-file', required=True)
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int, default=0)
    p.add_argument('--cert')
    p.add_argument('--key')
    p.add_argument('--user')
    p.add_argument('--password-file')
    # A test server left behind by a killed test run goes away by itself.
    p.add_argument('--max-lifetime', type=float, default=3600.0)
    return p.parse_args()


class MaildirHandler:
    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.count = len([f for f in os.listdir(directory) if f.endswith('.json')])

    def _write(self, name, data):
        tmp = os.path.join(self.directory, '.' + name + '.tmp')
        with open(tmp, 'wb') as f:
            f.write(data)
        os.replace(tmp, os.path.join(self.directory, name))

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = '%06d' % self.count
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode('utf-8')
        meta = {
            'mailFrom': envelope.mail_from,
            'rcptTos': list(envelope.rcpt_tos),
            'tls': getattr(server, '_tls_protocol', None) is not None,
            'authenticated': bool(getattr(session, 'authenticated', False)),
            'login': _login_of(session),
            'peer': list(session.peer)[:2] if session.peer else None,
        }
        self._write(stem + '.eml', content)
        self._write(stem + '.json', json.dumps(meta).encode('utf-8'))
        return '250 Message accepted for delivery'


def _login_of(session):
    data = getattr(session, 'auth_data', None)
    if isinstance(data, LoginPassword):
        return data.login.decode('utf-8', 'replace')
    if isinstance(data, str):
        return data
    return None


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode('utf-8', 'replace') == user
            and auth_data.password.decode('utf-8', 'replace') == password
        )
        login = auth_data.login.decode('utf-8', 'replace') if isinstance(auth_data, LoginPassword) else None
        if not ok:
            # handled=False: the server answers 535 itself.
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=login)

    return authenticate


async def main():
    args = parse_args()
    if args.host not in ('127.0.0.1', 'localhost', '::1'):
        sys.exit('the test SMTP server listens on loopback only, not on %s' % args.host)
    tls_context = None
    if args.cert and args.key:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.cert, args.key)
    authenticator = None
    if args.user:
        with open(args.password_file, encoding='utf-8') as f:
            password = f.read().strip()
        authenticator = make_authenticator(args.user, password)
    handler = MaildirHandler(args.dir)

    def factory():
        kwargs = dict(
            hostname='trainyard-test-smtp',
            tls_context=tls_context,
            require_starttls=False,
            auth_required=False,
            auth_require_tls=True,
            data_size_limit=10 * 1024 * 1024,
        )
        if authenticator:
            kwargs['authenticator'] = authenticator
        else:
            kwargs['auth_exclude_mechanism'] = ['PLAIN', 'LOGIN']
        return SMTP(handler, **kwargs)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host=args.host, port=args.port)
    port = server.sockets[0].getsockname()[1]
    tmp = args.port_file + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write('%d\n' % port)
    os.replace(tmp, args.port_file)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.max_lifetime > 0:
        loop.call_later(args.max_lifetime, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == '__main__':
    asyncio.run(main())
