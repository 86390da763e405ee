"""Command line: ``python -m zenmux_refunds <command>``.

  db upgrade                      migrate the schema to the newest revision
  scenario load FILE [--replace]  load a scenario into a fresh database (FILE may be
                                  the name of a shipped one, e.g. ``demo``)
  scenario check FILE             validate a scenario without touching the database
  clock show | clock advance DURATION | clock reset
                                  the demo clock (DURATION like 90m, 6h, 2d)
  reconcile                       ask the providers about every refund in Refunding now
  worker [--once]                 the background pass (settle/reconcile, rewards, mails)
                                  in a loop, as a process of its own (ZENMUX_BACKGROUND=off
                                  in the app processes); safe to run twice
  sandbox fail ORDER | sandbox succeed ORDER
                                  how the Sandbox provider settles refunds of an order
  usage consume [--until-idle]    apply billed calls from NATS JetStream until SIGTERM
                                  (or until nothing is pending); see the README

Exit codes: 0 done, 2 refused (the message says why; nothing was changed).
"""

from __future__ import annotations

import argparse
import sys

from zenmux_refunds.config import ConfigError


def _cmd_db(args) -> int:
    from zenmux_refunds import db

    if args.action == "upgrade":
        db.upgrade()
        print("schema is at the newest migration")
    return 0


def _cmd_scenario(args) -> int:
    from zenmux_refunds.domain.money import format_instant
    from zenmux_refunds.services import scenario_format, scenarios

    if args.action == "check":
        _name, data = scenario_format.read_file(args.file)
        parsed = scenario_format.parse(data)
        print(f"{args.file}: valid ({len(parsed.accounts)} accounts, now {format_instant(parsed.now)})")
        return 0
    result = scenarios.load(args.file, replace=args.replace)
    print(f"loaded scenario {result.name!r}: {result.accounts} accounts, {result.orders} orders, "
          f"{result.refunds} refunds; clock at {format_instant(result.now)}")
    return 0


def _cmd_clock(args) -> int:
    from zenmux_refunds import db
    from zenmux_refunds.domain.money import format_instant
    from zenmux_refunds.services import demo

    db.upgrade()  # the clock lives in the database: a fresh one gets its schema first

    if args.action == "advance":
        demo.advance_clock(demo.parse_duration(args.duration))
    elif args.action == "reset":
        demo.reset_clock_offset()
    print(f"app clock: {format_instant(demo.current_time())}")
    return 0


def _cmd_reconcile(args) -> int:
    from zenmux_refunds.services import refunds

    asked = refunds.process_refunding(force=True)
    print(f"asked the providers about {asked} refund(s) in Refunding")
    return 0


def _cmd_worker(args) -> int:
    from zenmux_refunds import logs, worker

    logs.configure()
    if args.once:
        worker.run_once()
        print("background pass done")
        return 0
    worker.run_forever()
    return 0


def _cmd_sandbox(args) -> int:
    from zenmux_refunds.services import sandbox_control

    try:
        kind = sandbox_control.set_outcome(args.order, args.action)
    except (LookupError, ValueError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    print(f"Sandbox will {args.action} refunds of {kind} order {args.order}")
    return 0


def _cmd_usage(args) -> int:
    import logging

    from zenmux_refunds import usage_consumer
    from zenmux_refunds.config import settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = settings()
    print(f"consuming {cfg.nats_billed_subject} (stream {cfg.nats_stream}, durable "
          f"{cfg.nats_durable}, batches of {cfg.nats_batch})", flush=True)
    totals = usage_consumer.run(until_idle=args.until_idle)
    print(f"stopped: {totals.recorded} recorded, {totals.duplicate} duplicate, "
          f"{totals.rejected} rejected in {totals.batches} batch(es)", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zenmux_refunds", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p_db = sub.add_parser("db", help="database schema")
    p_db.add_argument("action", choices=["upgrade"])
    p_db.set_defaults(func=_cmd_db)

    p_sc = sub.add_parser("scenario", help="scenario files")
    p_sc.add_argument("action", choices=["load", "check"])
    p_sc.add_argument("file")
    p_sc.add_argument("--replace", action="store_true",
                      help="replace whatever the database holds (default: it must be empty)")
    p_sc.set_defaults(func=_cmd_scenario)

    p_ck = sub.add_parser("clock", help="the demo clock")
    p_ck.add_argument("action", choices=["show", "advance", "reset"])
    p_ck.add_argument("duration", nargs="?", default="0m")
    p_ck.set_defaults(func=_cmd_clock)

    p_rc = sub.add_parser("reconcile", help="finish refunds left in Refunding")
    p_rc.set_defaults(func=_cmd_reconcile)

    p_wk = sub.add_parser("worker", help="the background pass, as a process of its own")
    p_wk.add_argument("--once", action="store_true", help="one pass, then exit")
    p_wk.set_defaults(func=_cmd_worker)

    p_sb = sub.add_parser("sandbox", help="the Sandbox provider")
    p_sb.add_argument("action", choices=["fail", "succeed"])
    p_sb.add_argument("order")
    p_sb.set_defaults(func=_cmd_sandbox)

    p_us = sub.add_parser("usage", help="the usage feed")
    p_us.add_argument("action", choices=["consume"])
    p_us.add_argument("--until-idle", action="store_true",
                      help="exit once a fetch finds nothing pending (default: run until SIGTERM)")
    p_us.set_defaults(func=_cmd_usage)

    args = parser.parse_args(argv)
    from zenmux_refunds.services.demo import DemoError
    from zenmux_refunds.services.scenario_format import ScenarioError

    try:
        return args.func(args)
    except (ScenarioError, ConfigError, DemoError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
