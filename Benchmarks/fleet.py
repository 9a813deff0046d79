#!/usr/bin/env python3
"""Replicas on one PostgreSQL (SPEC §8), measured: how soon a change committed through one
replica is in another's answers, and how long a replica takes to start from 1,000,000 users.

    swift build -c release --product permd
    python3 Benchmarks/fleet.py [--writes 2000] [--users 1000000]

It runs `scripts/fleet.sh` (a throwaway PostgreSQL and three replicas on 127.0.0.1:17468-17470),
then:
- visibility: a write on replica 1 (`ROLE.ADD`/`ROLE.DEL` in turn), its `OK <revision>`, then
  replica 2 asked `REVISION` back to back until it has that revision — no `SYNC`, so what is
  measured is the replica being woken by NOTIFY and catching up. Reported: from the OK on
  replica 1 to the revision on replica 2, p50/p99/max.
- cold start: USERS users (each in one organization with one role) written straight into the
  tables with SQL, then a fourth replica started: the time from its start to its
  `permd serving` line, and the full build's own `build_ms`.
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTS = [17468, 17469, 17470]


class Client:
    def __init__(self, port):
        self.socket = socket.create_connection(("127.0.0.1", port))
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.socket.makefile("rwb")

    def request(self, line):
        self.file.write((line + "\n").encode())
        self.file.flush()
        return self.file.readline().decode().strip()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--permd", default=os.path.join(ROOT, ".build/release/permd"))
    arguments = parser.parse_args()

    environment = dict(os.environ, PERMD=arguments.permd, POLICIES=os.path.join(ROOT, "policies"),
                       FLEET_PORTS=" ".join(map(str, PORTS)))
    fleet = subprocess.Popen([os.path.join(ROOT, "scripts/fleet.sh")], env=environment, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
    banner = ""
    try:
        while "Ctrl-C" not in banner:
            line = fleet.stdout.readline()
            if not line:
                sys.exit("fleet.sh ended:\n" + banner)
            banner += line
        token = re.search(r"AUTH (\w+)", banner).group(1)
        folder = re.search(r"\(database permd, in (\S+)\)", banner).group(1)
        db = re.search(r"--db (\S+)", banner).group(1)
        password = re.search(r"PGPASSWORD=(\w+)", banner).group(1)
        db_port = re.search(r"PostgreSQL on 127.0.0.1:(\d+)", banner).group(1)

        writer, reader = Client(PORTS[0]), Client(PORTS[1])
        assert writer.request("AUTH " + token) == "OK"
        print(writer.request('USER.ADD {"id": "bench", "organizations": ["org_acme"]}'))
        delays = []
        for number in range(arguments.writes):
            verb = "ROLE.ADD" if number % 2 == 0 else "ROLE.DEL"
            reply = writer.request(f"{verb} bench org_acme billing-admin")
            committed = time.perf_counter()
            revision = int(reply.split()[-1])
            while int(reader.request("REVISION").split()[1]) < revision:
                pass
            delays.append((time.perf_counter() - committed) * 1000)
        print(f"visibility on another replica, {len(delays)} writes: p50 {percentile(delays, 0.5):.2f} ms, "
              f"p99 {percentile(delays, 0.99):.2f} ms, max {max(delays):.2f} ms")

        if arguments.users > 0:
            psql = ["psql", "-q", "-h", "127.0.0.1", "-p", db_port, "-U", "postgres", "-d", "permd", "-v", "ON_ERROR_STOP=1"]
            target = int(reader.request("REVISION").split()[1]) + 1
            seeded = time.perf_counter()
            subprocess.run(psql + ["-c", f"""
                BEGIN;
                INSERT INTO permd.users (id, created_at, updated_at)
                  SELECT 'u' || lpad(n::text, 7, '0'), 0, 0 FROM generate_series(1, {arguments.users}) n;
                INSERT INTO permd.memberships (user_id, org)
                  SELECT 'u' || lpad(n::text, 7, '0'), 'org_acme' FROM generate_series(1, {arguments.users}) n;
                INSERT INTO permd.role_assignments (user_id, org, role)
                  SELECT 'u' || lpad(n::text, 7, '0'), 'org_acme', 'member' FROM generate_series(1, {arguments.users}) n;
                UPDATE permd.revision SET value = value + 1, log_floor = value + 1;
                COMMIT;
                ANALYZE;"""], env=dict(os.environ, PGPASSWORD=password), check=True)
            print(f"seeded {arguments.users} users in {time.perf_counter() - seeded:.1f} s")
            # The log floor moved past the running replicas: they rebuild from the tables.
            # Waited for, so that the cold start below has the machine to itself.
            rebuilding = time.perf_counter()
            while int(reader.request("REVISION").split()[1]) < target:
                time.sleep(0.01)
            print(f"the running replicas, fallen behind the log, rebuilt in {time.perf_counter() - rebuilding:.2f} s")
            log_path = os.path.join(folder, "replica-cold.log")
            started = time.perf_counter()
            with open(log_path, "w") as log:
                replica = subprocess.Popen([arguments.permd, "serve", "--policies", os.path.join(ROOT, "policies"),
                                            "--db", db, "--listen", "127.0.0.1:17471"],
                                           env=dict(os.environ, PGPASSWORD=password), stderr=log)
            try:
                while True:
                    text = open(log_path).read()
                    if "permd serving" in text:
                        break
                    if replica.poll() is not None:
                        sys.exit("the replica ended:\n" + text)
                    time.sleep(0.01)
                elapsed = time.perf_counter() - started
                build = re.search(r"build_ms=([\d.]+)[^\n]*permd serving", text)
                print(f"cold start from {arguments.users} users: serving after {elapsed:.2f} s "
                      f"(the index build: {float(build.group(1)) / 1000:.2f} s)")
            finally:
                replica.terminate()
                replica.wait()
    finally:
        os.killpg(fleet.pid, signal.SIGINT)
        fleet.wait()


if __name__ == "__main__":
    main()
