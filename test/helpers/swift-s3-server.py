"""A throwaway OpenStack Swift with s3api for tests (run by test/helpers/swift-s3.ts).

Usage: /usr/bin/python3 swift-s3-server.py <folder>

One Python process serves the proxy (catch_errors proxy-logging cache s3api tempauth slo dlo
proxy-logging proxy-server) and the account, container and object servers, each on its own
loopback socket bound to port 0 (no port race), as eventlet green threads; memcached, which
tempauth needs (without one every request answers 503), runs as a child in the same process
group, so killing the group stops everything. When all is listening it prints one JSON line:
{"ready": true, "port": <proxy port>, "memcachedPort": <port>}. Nothing is read from /etc/swift.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import eventlet
import eventlet.wsgi

FOLDER = sys.argv[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_memcached():
    """memcached cannot report a port it chose, so try a free one; retry if another took it."""
    for _ in range(20):
        port = free_port()
        # memcached refuses to run as root unless told which user to become.
        user = ["-u", "nobody"] if os.getuid() == 0 else []
        child = subprocess.Popen(
            ["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "16", *user],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.time() + 3
        while time.time() < deadline and child.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return child, port
            except OSError:
                time.sleep(0.02)
        child.kill()
    raise SystemExit("memcached did not start")


def write(name, text):
    path = os.path.join(FOLDER, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def exit_with_parent(memcached):
    """stdin is a pipe from the test process: when it closes (the test process died), stop."""
    fd = sys.stdin.fileno()
    while True:
        eventlet.hubs.trampoline(fd, read=True)
        if not os.read(fd, 4096):
            break
    memcached.kill()
    os._exit(0)


def main():
    memcached, memcached_port = start_memcached()
    devices = os.path.join(FOLDER, "srv")
    os.makedirs(os.path.join(devices, "d1"), exist_ok=True)
    socks = {kind: eventlet.listen(("127.0.0.1", 0)) for kind in ("account", "container", "object", "proxy")}
    ports = {kind: sock.getsockname()[1] for kind, sock in socks.items()}

    swift_conf = write(
        "swift.conf",
        "[swift-hash]\nswift_hash_path_suffix = streamai-tests\nswift_hash_path_prefix = streamai\n"
        "[storage-policy:0]\nname = one\ndefault = yes\n",
    )
    from swift.common import utils

    # Set before anything reads swift.conf, so nothing comes from /etc/swift.
    utils.SWIFT_CONF_FILE = swift_conf
    utils.validate_hash_conf()
    from swift.common import constraints, storage_policy

    constraints.SWIFT_CONF_FILE = swift_conf
    constraints.reload_constraints()
    storage_policy.SWIFT_CONF_FILE = swift_conf
    storage_policy.reload_storage_policies()

    from swift.common.ring import RingBuilder

    for kind in ("account", "container", "object"):
        builder = RingBuilder(6, 1, 1)
        builder.add_dev(
            {"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": ports[kind], "device": "d1", "weight": 1}
        )
        builder.rebalance()
        builder.get_ring().save(os.path.join(FOLDER, f"{kind}.ring.gz"))

    common = (
        f"[DEFAULT]\nswift_dir = {FOLDER}\ndevices = {devices}\nmount_check = false\nworkers = 0\n"
        "bind_ip = 127.0.0.1\nlog_level = ERROR\nlog_name = swift-test\n"
    )
    confs = {}
    for kind in ("account", "container", "object"):
        confs[kind] = write(
            f"{kind}-server.conf",
            common
            + f"bind_port = {ports[kind]}\n[pipeline:main]\npipeline = {kind}-server\n"
            + f"[app:{kind}-server]\nuse = egg:swift#{kind}\n",
        )
    confs["proxy"] = write(
        "proxy-server.conf",
        common
        + f"bind_port = {ports['proxy']}\n[pipeline:main]\n"
        + "pipeline = catch_errors proxy-logging cache s3api tempauth slo dlo proxy-logging proxy-server\n"
        + "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n"
        + "[filter:catch_errors]\nuse = egg:swift#catch_errors\n"
        + "[filter:proxy-logging]\nuse = egg:swift#proxy_logging\n"
        + f"[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:{memcached_port}\n"
        + "[filter:s3api]\nuse = egg:swift#s3api\nlocation = us-east-1\n"
        + "[filter:tempauth]\nuse = egg:swift#tempauth\nuser_test_tester = testing .admin\n"
        + "user_test_other = other .admin\n"
        + "[filter:slo]\nuse = egg:swift#slo\n"
        + "[filter:dlo]\nuse = egg:swift#dlo\n",
    )

    utils.eventlet_monkey_patch()
    os.environ["TZ"] = "UTC+0"
    time.tzset()
    from swift.common.wsgi import SwiftHttpProtocol, loadapp

    servers = []
    for kind in ("account", "container", "object", "proxy"):
        app = loadapp(confs[kind], global_conf={"log_name": f"swift-{kind}"})
        servers.append(
            eventlet.spawn(
                eventlet.wsgi.server,
                socks[kind],
                app,
                log=open(os.devnull, "w"),
                protocol=SwiftHttpProtocol,
                socket_timeout=60,
                # The AWS SDK needs "ETag", not eventlet's "Etag".
                capitalize_response_headers=False,
            )
        )
    eventlet.spawn(exit_with_parent, memcached)

    def on_term(_signum, _frame):
        # The group got SIGTERM: reap memcached here, so nothing lingers as a zombie.
        memcached.kill()
        memcached.wait(timeout=2)
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    print(json.dumps({"ready": True, "port": ports["proxy"], "memcachedPort": memcached_port}), flush=True)
    try:
        for server in servers:
            server.wait()
    finally:
        memcached.kill()


if __name__ == "__main__":
    main()
