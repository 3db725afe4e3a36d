"""Collect real Exim log lines, as an Exim node's container log carries them, into tests/mta/exim_samples.log (the
test data of the Exim evidence reader). Not a test: run it by hand when the node's logging changes.

    python tests/mta/exim_samples.py tests/mta/exim_samples.log [4.96 4.98]

The last two blocks of the committed file (the panic log, a missing data file) were copied by hand from a node
whose files were broken on purpose; this script does not make them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from harness import MailTopology, NodeSpec, TopologySpec
from harness.faults import Down
from harness.mta.exim.node import EximNode
from harness.smtp import Recipient

EOD = "smtpd_end_of_data_restrictions"
EOD_REFUSAL = "check_sender_access inline:{ {eod@library.example = REJECT 5.7.1 refused after data by mailharness} }"


def collect(v: str, blocks: list[str]) -> None:
    """Every case on a topology whose library runs Exim `v`, each as a block of `blocks`."""
    spec = TopologySpec(name="eximsamples", nodes=(
        NodeSpec("store", "store.example", users=("jack",)),
        NodeSpec("library", "library.example", users=("jill", "bob"), kind="exim", version=v),
        NodeSpec("edu", "example.edu", users=("jill",), main_cf={EOD: EOD_REFUSAL}),
    ))
    with MailTopology(spec) as w:
        lib = w.nodes["library"]
        assert isinstance(lib, EximNode)

        def lines(since: int) -> list[str]:
            w.sync_logs()
            return [e.line for e in w.events.since(since, node="library") if e.program != "mailharness-sync"]

        def wait(pred: Callable[[str], bool], since: int, what: str, timeout: float = 20.0, n: int = 1) -> None:
            pos = since
            for _ in range(n):
                ev = w.events.wait(lambda e: e.node == "library" and pred(e.line), timeout=timeout, since=pos,
                                   what=what)
                pos = ev.seq + 1

        def case(name: str, got: list[str]) -> None:
            blocks.append(f"# case: {name} (Exim {v})\n" + "\n".join(got) + "\n")
            print(f"{v} {name}: {len(got)} lines", flush=True)

        def sh(cmd: str) -> None:
            lib.exec(["sh", "-c", cmd])

        # the daemon's start
        case("daemon start, and the harness's probe of its banner (no MAIL)", lines(0))

        m = w.events.mark()
        w.send("jack@store.example", "jill@library.example")
        wait(lambda ln: "Completed" in ln, m, "local delivery")
        case("arrival over SMTP from a Postfix node, local delivery into a Maildir, Completed", lines(m))

        m = w.events.mark()
        w.send("jill@library.example", "jill@example.edu", via="library")
        wait(lambda ln: "Completed" in ln, m, "remote delivery")
        case("arrival from the harness's client, remote delivery to a Postfix node (C=\"250 ... queued as ...\")",
             lines(m))

        m = w.events.mark()
        w.send("jack@store.example", ["nobody@library.example", "bob@outside.test", "jill@library.example"],
               via="library")
        wait(lambda ln: "Completed" in ln, m, "delivery")
        case("refusals at RCPT: unknown local user, domain outside the topology (then the accepted recipient)",
             lines(m))

        m = w.events.mark()
        w.send("jill@library.example", "nobody@example.edu", via="library")
        wait(lambda ln: "Completed" in ln, m, "failure and bounce", 20, n=2)
        case("failure (**): the next hop (Postfix) refuses RCPT with 550 5.1.1; the bounce (<= <> R=<id>) to the "
             "local sender, delivered, Completed", lines(m))

        m = w.events.mark()
        w.send("eod@library.example", "jill@example.edu", via="library")
        wait(lambda ln: "**" in ln, m, "failure after data", 20)
        time.sleep(1.0)
        case("failure (**): the next hop refuses after the end of data (Exim sends with BDAT to Postfix); the bounce "
             "to eod@library.example fails (no such user: accepted from the harness's client, not verified at MAIL)",
             lines(m))

        m = w.events.mark()
        w.send("jack@store.example", "jill@example.edu", via="library")
        wait(lambda ln: "Completed" in ln, m, "relay", 20)
        case("relay for a Postfix sender to another Postfix node", lines(m))

        # deferral: the next hop's SMTP service is off (connection refused), then back, the queue flushed
        m = w.events.mark()
        with w.fault(Down("edu")):
            w.send("jill@library.example", "jill@example.edu", via="library")
            wait(lambda ln: " == " in ln, m, "deferral")
            time.sleep(2.5)  # a few retries of the queue runner
            print(lib.queue())
        lib.flush_queue()
        wait(lambda ln: "Completed" in ln, m, "delivery after the deferral", 20)
        case("deferral (==): the next hop refuses connections (Down), retried every second, delivered once it is "
             "back (after exim -qff)", lines(m))

        # retry time-out: the retry rule shortened (settings + SIGHUP), the next hop down
        m = w.events.mark()
        lib.reconfigure('echo "MH_RETRY = F,3s,1s" > /etc/exim4/mh/settings')
        with w.fault(Down("edu")):
            w.send("jill@library.example", "jill@example.edu", via="library")
            wait(lambda ln: "Completed" in ln, m, "retry time-out and bounce", 30, n=2)
        case("daemon restart after SIGHUP (settings changed), then a retry time-out: the next hop down longer than "
             "the retry rule (F,3s,1s), the failure and the bounce to the local sender", lines(m))
        m = w.events.mark()
        lib.reset()
        case("reset: the daemon restarted (settings back to the baseline)", lines(m))

        # frozen: a bounce that cannot be delivered (the sender's domain is outside the topology)
        m = w.events.mark()
        sh("touch /etc/exim4/mh/accept_unknown")
        w.send("someone@outside.test", "nobody@library.example", via="library")
        wait(lambda ln: "Frozen" in ln or "frozen" in ln, m, "frozen", 20)
        time.sleep(0.5)
        print(lib.queue())
        case("accepted for an unknown user (accept_unknown flag file), failure at routing (**: Unrouteable "
             "address), the bounce to a sender outside the topology fails too, and is frozen", lines(m))
        m = w.events.mark()
        lib.reset()
        case("reset: a frozen message removed (exim -Mrm)", lines(m))

        # an alias (redirect router) to an address of another node, and an alias to an unknown local user
        m = w.events.mark()
        sh("printf 'jill: jill@example.edu\\nbob: nobody@library.example\\n' >> /etc/exim4/mh/aliases; "
           "touch /etc/exim4/mh/accept_unknown")
        w.send("jack@store.example", ["jill@library.example", "bob@library.example"], via="library")
        wait(lambda ln: "Completed" in ln, m, "alias and bounce", 20, n=2)
        case("aliases: jill -> jill@example.edu (remote, all_parents), bob -> nobody@library.example (unknown: "
             "failure, bounce to the Postfix sender)", lines(m))
        lib.reset()

        # refusals from the data files
        m = w.events.mark()
        sh("echo 'jill@library.example: 450 4.2.0 try later by mailharness' >> /etc/exim4/mh/refuse; "
           "echo 'example.edu: 550 5.7.1 no relay to edu today' >> /etc/exim4/mh/refuse; "
           "echo 'bob@library.example: 554 5.7.1 refused after data by mailharness' >> /etc/exim4/mh/refuse_data")
        w.send("jack@store.example", ["jill@library.example", "jill@example.edu"], via="library")
        w.send("jack@store.example", "bob@library.example", via="library")
        time.sleep(0.5)
        case("Refuse: 4xx and 5xx at RCPT (refuse), 5xx after the data (refuse_data, with the rejected headers in "
             "the reject log)", lines(m))
        lib.reset()

        # size limit and quota
        m = w.events.mark()
        sh("echo 5000 > /etc/exim4/mh/size_limit; echo 'jill: 2K' >> /etc/exim4/mh/quota")
        w.send("jack@store.example", "bob@library.example", via="library", body="x" * 8000)
        w.send("jack@store.example", "jill@library.example", via="library", body="y" * 3000)
        wait(lambda ln: "Completed" in ln, m, "quota failure and bounce", 20, n=2)
        case("size limit (size_limit file: 5000) refused after the data; quota (quota file: jill 2K) exceeded at "
             "delivery: failure and bounce to the Postfix sender", lines(m))
        lib.reset()

        # DSN: NOTIFY=SUCCESS for a local delivery (Exim's success DSN) and relayed to Postfix
        m = w.events.mark()
        w.send("jack@store.example", [Recipient("jill@library.example", ("SUCCESS",), "jill@library.example"),
                                      Recipient("jill@example.edu", ("SUCCESS", "FAILURE"), None)],
               via="library", envid="mh-envid-1", ret="HDRS")
        wait(lambda ln: "<= <>" in ln, m, "success DSN", 20)
        time.sleep(1.0)
        case("DSN: NOTIFY=SUCCESS on a local delivery (Exim sends the success DSN) and on a relayed recipient "
             "(passed on to Postfix, which advertises DSN)", lines(m))

        # submission with Exim's sendmail interface
        m = w.events.mark()
        w.submit("library", "jill@library.example", ["bob@library.example", "jill@example.edu"])
        wait(lambda ln: "Completed" in ln, m, "local submission", 20)
        time.sleep(0.5)
        case("local submission (exim -i -f ... -- rcpts): arrival P=local, deliveries", lines(m))


def main() -> None:
    out_path, versions = sys.argv[1], sys.argv[2:] or ["4.96", "4.98"]
    blocks: list[str] = []
    for v in versions:
        collect(v, blocks)
    head = ("# Real log lines of an Exim node (containers/exim), as the container's log carries them: each line\n"
            "# after the log it comes from (exim-main:, exim-reject:, exim-panic:). Collected by\n"
            "# tests/mta/exim_samples.py from a topology store (Postfix 3.10) -> library (Exim; users jill, bob) ->\n"
            "# edu (Postfix 3.10, which refuses eod@library.example's mail after the data), on both Exim releases,\n"
            "# with the data files under /etc/exim4/mh written by hand where a fault will write them.\n\n")
    with open(out_path, "w") as fh:
        fh.write(head + "\n".join(blocks))


if __name__ == "__main__":
    main()
