"""Clone and strategy-graph commands: clones create/show/list, graph validate/preview."""

from __future__ import annotations

import argparse
import json

from clash_pipeline.cli.common import CliError, as_of, csv_list, memory, print_problems, read_graph


def cmd_clones(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from clash_pipeline.strategy import modes, store
    from clash_pipeline.strategy.graph import GraphInvalid
    from clash_pipeline.strategy.identity import IdentityInvalid

    conn = memory()
    if args.action == "list":
        identities = [asdict(i) for i in store.list_public(conn)]
        if args.json:
            print(json.dumps(identities, indent=2))
        for i in identities if not args.json else []:
            print(f"{i['clone_id']:>6}  {i['name']:<24} {i['status']:<8} {i['bio'] or ''}")
        return 0
    if args.action == "show":
        clone = store.get_clone(conn, args.clone_id)
        view = {"identity": asdict(clone.identity)}
        if not args.public:
            view.update({"control_mode": clone.control_mode, "version": clone.version,
                         "graph": clone.graph.model_dump(mode="json")})
        print(json.dumps(view, indent=2) if args.json else describe_clone(view))
        return 0
    try:
        if args.mode == "basic":
            graph = modes.basic_graph(args.risk, args.category, args.subcategory, args.cadence, args.engine)
        elif args.mode == "custom":
            if not args.assets:
                raise CliError("--mode custom needs --assets")
            presets = dict(item.split("=", 1) for item in args.presets)
            graph = modes.custom_graph(args.assets, presets, args.cadence, args.risk, args.engine)
        else:
            if not args.graph:
                raise CliError("--mode power needs --graph FILE")
            graph = read_graph(args.graph)
        clone = store.create_clone(conn, args.name, graph, args.mode, args.avatar_url, args.bio)
    except GraphInvalid as error:
        return print_problems(error)
    except IdentityInvalid as error:
        raise SystemExit(f"clash: clones create: {error}") from None
    print(json.dumps(asdict(clone.identity)) if args.json else
          f"created clone {clone.identity.clone_id} ({clone.identity.key}) {clone.identity.name!r}, "
          f"{clone.control_mode} mode, version {clone.version}")
    return 0


def describe_clone(view: dict) -> str:
    identity = view["identity"]
    lines = [f"clone {identity['clone_id']}: {identity['name']} [{identity['status']}]",
             f"  avatar: {identity['avatar_url'] or '-'}", f"  bio: {identity['bio'] or '-'}"]
    if "graph" in view:
        lines.append(f"  {view['control_mode']} mode, active version {view['version']}")
        for block in view["graph"]["blocks"]:
            lines.append(f"    {block['kind']:<15} {block['id']}")
    return "\n".join(lines)


def cmd_graph(args: argparse.Namespace) -> int:
    from clash_pipeline.strategy.graph import GraphInvalid
    from clash_pipeline.strategy.packet import build_packet
    from clash_pipeline.strategy.store import validate

    when = as_of(getattr(args, "as_of", None))
    conn = memory()
    try:
        graph, compiled = validate(conn, read_graph(args.file))
    except GraphInvalid as error:
        if args.json:
            print(json.dumps({"valid": False, "problems": [vars(p) for p in error.problems]}, indent=2))
            return 1
        return print_problems(error)
    if args.action == "validate":
        print(json.dumps({"valid": True, **compiled.summary()}, indent=2) if args.json else
              f"valid: {sum(len(p.assets) for p in compiled.prompts)} (prompt, asset) pairs, "
              f"strategy {compiled.strategy_hash[:12]}")
        return 0
    packets = [build_packet(conn, plan, when) for plan in compiled.asset_plans()]
    if args.json:
        print(json.dumps({"plan": compiled.as_dict(), "packets": packets}, indent=2))
        return 0
    for prompt in compiled.prompts:
        print(f"prompt {prompt.prompt_id}: engine {prompt.engine}, cadence {prompt.cadence}")
        for plan, packet in zip(prompt.assets, [p for p in packets if p["prompt_id"] == prompt.prompt_id]):
            sizes = ", ".join(f"{name} {sum(len(r['rows']) for r in ch['reads'].values())}"
                              for name, ch in packet["channels"].items())
            print(f"  {plan.name or plan.coin:<10} {len(plan.reads)} reads -> {sizes}")
    return 0


def register(commands) -> None:
    clones = commands.add_parser("clones", help="create, show and list clones")
    clone_actions = clones.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = clone_actions.add_parser("create", help="create a clone from a control mode (validated, versioned)")
    create.add_argument("--name", required=True)
    create.add_argument("--mode", choices=("basic", "custom", "power"), default="basic")
    create.add_argument("--risk", choices=("low", "medium", "high"), default="medium", help="basic/custom")
    create.add_argument("--category", default="Crypto", help="basic: Perps, Spot, Crypto, Tradfi, Trending, ...")
    create.add_argument("--subcategory", default=None, help="basic: e.g. Layer 1, AI, Stocks")
    create.add_argument("--cadence", default="15m", help="1m, 5m, 15m, 1h, 4h or 1d")
    create.add_argument("--engine", choices=("hold", "rules", "openai"), default="rules")
    create.add_argument("--assets", type=csv_list, help="custom: symbols, e.g. BTC,ETH,HYPE/USDC")
    create.add_argument("--presets", type=csv_list, default=["hyperliquid=price_action", "defillama=macro"],
                        help="custom: source=profile pairs (default hyperliquid=price_action,defillama=macro)")
    create.add_argument("--graph", help="power: a graph JSON file")
    create.add_argument("--avatar-url")
    create.add_argument("--bio")
    create.add_argument("--json", action="store_true")
    show = clone_actions.add_parser("show", help="a clone: identity, mode, active version and graph")
    show.add_argument("clone_id", type=int)
    show.add_argument("--public", action="store_true", help="only what the public sees (no strategy)")
    show.add_argument("--json", action="store_true")
    listing = clone_actions.add_parser("list", help="public identities of every clone")
    listing.add_argument("--json", action="store_true")
    clones.set_defaults(func=cmd_clones)

    graph = commands.add_parser("graph", help="validate or preview a draft graph file (nothing is stored)")
    graph_actions = graph.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, what in (("validate", "list every problem, by block id and field"),
                         ("preview", "compiled read plans and effective context packets")):
        sub = graph_actions.add_parser(action, help=what)
        sub.add_argument("file", help="a graph JSON file: {blocks, edges, layout}")
        sub.add_argument("--json", action="store_true")
        if action == "preview":
            sub.add_argument("--as-of", help="packet time: ms or ISO (default now); nothing after it is read")
    graph.set_defaults(func=cmd_graph)
