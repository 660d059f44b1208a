"""Benchmark result writer: raw samples (JSON lines) -> results.json + results.md.

Each raw line is {"approach": "ours" | "os_brick", "measure": NAME, "value": X} or
{"meta": {...}} or {"note": "..."}; the medians of the samples go in the tables.
"""
from __future__ import annotations

import argparse
import json
import statistics

VOLUME, ROLE = "iscsi_volume (one module call)", "volume_attach/volume_detach roles"
MEASURES = {  # name: (label, ours via, goal text, goal check on (ours, os_brick) medians)
    "attach_s": ("attach, 2 portals, until a 2-path dm does IO (s)", VOLUME,
                 "<= 0.8 x os-brick", lambda o, b: o <= 0.8 * b),
    "io_stall_s": ("longest IO stall, one network cut during direct IO (s)",
                   VOLUME + ", collection defaults", "<= 5 s", lambda o, b: o <= 5),
    "io_errors": ("IO errors seen during the cut", VOLUME + ", collection defaults", "0",
                  lambda o, b: o == 0),
    "dead_portal_attach_s": ("attach with one of two portals dropped, until a 1-path dm (s)",
                             VOLUME, "<= 20 s", lambda o, b: o <= 20),
    "scale_1_s": ("1 volume x 2 portals, attach total (s)", VOLUME, "", None),
    "scale_16_s": ("16 volumes x 2 portals, attach total (s)", VOLUME + ", all 16 in its volumes option",
                   "<= 4 x scale_1", None),
    "path_back_s": ("second path active again after the network returns (s)",
                    VOLUME + ", collection defaults", "<= 5 s", lambda o, b: o <= 5),
    "detach_s": ("detach of one 2-path volume (s)", VOLUME, "<= 1.0 x os-brick",
                 lambda o, b: o <= b),
}
USER_MEASURES = {  # what users run: ours (role, playbook), the baseline's measure (its os_brick samples: os-brick,
    # or `cinder local-attach` for the anchor rows), the iscsi_volume call's measure beside it (None: none), goal text,
    # goal check on (ours, baseline)
    "role_attach_s": ("attach of one 2-portal volume through volume_attach, until a 2-path dm does IO (s)",
                      "attach_s", "attach_s", "<= 1.5 x os-brick", lambda o, b: o <= 1.5 * b),
    "role_detach_s": ("detach of that volume through volume_detach (s)", "detach_s", "detach_s", "<= 3 x os-brick",
                      lambda o, b: o <= 3 * b),
    "role_scale_16_s": ("16 volumes through volume_attach, against 16 serial connects (s)", "scale_16_s",
                        "scale_16_s", "<= 0.6 x os-brick", lambda o, b: o <= 0.6 * b),
    "role_dead_portal_attach_s": ("attach with one of two portals dropped, through volume_attach (s)",
                                  "dead_portal_attach_s", "dead_portal_attach_s", "<= 1.0 x os-brick",
                                  lambda o, b: o <= b),
    "anchor_attach_s": ("second anchor: the whole playbooks/attach_volume.yml run (controller start to a usable "
                        "2-path map, real Cinder) against the whole `cinder local-attach` (in the os-brick column) (s)",
                        "anchor_attach_s", None, "<= 1.0 x cinder local-attach", lambda o, b: o <= b),
    "anchor_detach_s": ("second anchor, detach: the whole playbooks/detach_volume.yml run against the whole "
                        "`cinder local-detach` (s)", "anchor_detach_s", None, "", None),
}
META = ("date", "machine", "kernel", "accel", "runs", "quick", "wall_s", "load_before",
        "load_during", "load_after", "collection_commit", "config", "anchor")
EXTRA = {
    "attach_return_s": "attach call returned (iscsi_volume task / connect_volume) (s)",
    "module_attach_s": "iscsi_volume's own time inside the attach task (s)",
    "module_attach_login_s": "  of which: logins, all portals in parallel (s)",
    "module_attach_devices_s": "  of which: LUN scan until the SCSI devices show (s)",
    "module_attach_map_s": "  of which: map built and usable (s)",
    "attach_task_cost_s": "attach task beyond the module's own time: Ansible's cost of one task (s)",
    "task_raw_s": "one raw task (ssh only) (s)",
    "task_ping_s": "one ping module task (ssh, a Python start, AnsiballZ) (s)",
    "module_detach_s": "iscsi_volume's own time inside the detach task (s)",
    "module_detach_devices_s": "  of which: map flushed, devices deleted (s)",
    "module_detach_logout_s": "  of which: logouts, all portals in parallel (s)",
    "role_attach_s": "attach via the volume_attach role, until a 2-path dm does IO (s)",
    "role_overhead_s": "role overhead over the single iscsi_volume call (s)",
    "role_attach_return_s": "volume_attach role returned (s)",
    "role_detach_s": "detach via the volume_detach role (s)",
    "chain_attach_s": "attach via the module chain (iscsi_session x2 + multipath_device) (s)",
    "chain_detach_s": "detach via the module chain (s)",
    "dead_portal_return_s": "attach call returned, one portal dropped (s)",
    "module_dead_portal_s": "iscsi_volume's own time, one portal dropped (s)",
    "module_dead_portal_login_s": "  of which: logins (the dropped portal's bounded wait) (s)",
    "role_dead_portal_attach_s": "volume_attach role, attach with one portal dropped (s)",
    "scale_4_s": "4 volumes x 2 portals, attach total (s)",
    "scale_1_per_volume_s": "1 volume, attach time per volume (s)",
    "scale_4_per_volume_s": "4 volumes, attach time per volume (s)",
    "scale_16_per_volume_s": "16 volumes, attach time per volume (s)",
    "module_scale_16_s": "16 volumes: iscsi_volume's own time in its one call (s)",
    "detach_1_s": "detach of 1 volume (s)",
    "detach_4_s": "detach of 4 volumes (ours: one call, os-brick: one after the other) (s)",
    "detach_16_s": "detach of 16 volumes (ours: one call, os-brick: one after the other) (s)",
    "role_scale_1_s": "1 volume, volume_attach role (s)",
    "role_scale_4_s": "4 volumes, volume_attach role (s)",
    "role_scale_16_s": "16 volumes, volume_attach role (s)",
    "role_detach_1_s": "detach of 1 volume, volume_detach role (s)",
    "role_detach_4_s": "detach of 4 volumes, volume_detach role (s)",
    "role_detach_16_s": "detach of 16 volumes, volume_detach role (s)",
    "anchor_attach_s": "second anchor: attach_volume.yml / cinder local-attach, whole command until a 2-path dm does "
                       "IO (s)",
    "anchor_attach_return_s": "second anchor: attach_volume.yml / cinder local-attach returned (s)",
    "anchor_detach_s": "second anchor: detach_volume.yml / cinder local-detach, whole command (s)",
    "path_failed_s": "path marked failed after the cut (s)",
    "bytes_verified": "bytes read back and verified during the cut",
    "mismatches": "verify mismatches during the cut",
    "peak_rss_kib": "peak memory of the managed-host side (KiB)",
    "commands_iscsiadm": "iscsiadm runs, one attach + detach",
    "commands_multipath": "multipath/multipathd runs, one attach + detach",
    "commands_other": "other storage commands (dmsetup, blockdev, udevadm, ...)",
}


def load(path: str) -> tuple[dict, dict, list]:
    samples, meta, notes = {}, {}, []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            item = json.loads(line)
            if "meta" in item:
                meta.update(item["meta"])
            elif "note" in item:
                notes.append(item["note"])
            elif item.get("value") is not None:
                key = (item["measure"], item["approach"])
                samples.setdefault(key, []).append(item["value"])
    return samples, meta, notes


def median(values: list) -> float | None:
    return round(statistics.median(values), 3) if values else None


def summarise(samples: dict, meta: dict) -> dict:
    out = {}
    for name in list(MEASURES) + list(EXTRA):
        ours = median(samples.get((name, "ours"), []))
        brick = median(samples.get((name, "os_brick"), []))
        if ours is None and brick is None:
            continue
        ratio = round(ours / brick, 2) if ours is not None and brick else None
        out[name] = {"ours": ours, "os_brick": brick, "ratio": ratio,
                     "samples": {"ours": samples.get((name, "ours"), []),
                                 "os_brick": samples.get((name, "os_brick"), [])}}
    for name in MEASURES:  # no iscsi_volume sample (it failed or was not run): the role's
        role = out.get("role_" + name, {}).get("ours")
        if out.get(name, {}).get("ours") is None and role is not None:
            brick = out.get(name, {}).get("os_brick")
            out[name] = dict(out.get(name, {}), ours=role, via=ROLE, os_brick=brick,
                             ratio=round(role / brick, 2) if brick else None)
    attach, role = out.get("attach_s", {}).get("ours"), out.get("role_attach_s", {}).get("ours")
    if attach is not None and role is not None:
        out["role_overhead_s"] = {"ours": round(role - attach, 3), "os_brick": None, "ratio": None}
    for key in META:
        if key in meta:
            out[key] = meta[key]
    return out


def goal_status(name: str, summary: dict) -> str:
    entry = summary.get(name)
    if not entry or entry["ours"] is None:
        return "not measured"
    if name == "scale_16_s":
        one = summary.get("scale_1_s", {}).get("ours")
        return "met" if one and entry["ours"] <= 4 * one else "missed"
    check = MEASURES[name][3]
    if check is None:
        return ""
    if entry["os_brick"] is None and "os-brick" in MEASURES[name][2]:
        return "no baseline"
    return "met" if check(entry["ours"], entry["os_brick"] or 0) else "missed"


def user_rows(summary: dict) -> list:
    """The headline: each role measure beside the single iscsi_volume call and os-brick, with its goal."""
    rows = []
    for name, (label, other, call, goal, check) in USER_MEASURES.items():
        role = summary.get(name, {}).get("ours")
        brick = summary.get(other, {}).get("os_brick")
        entry = summary.get(call, {}) if call else {}
        module = entry.get("ours") if entry.get("via") != ROLE else None  # not the role's value filled in
        ratio = round(role / brick, 2) if role is not None and brick else None
        status = ("not measured" if role is None else "no baseline" if not brick
                  else "" if check is None else "met" if check(role, brick) else "missed")
        rows.append("| %s `%s` | %s | %s | %s | %s | %s | %s |" % (
            label, name, fmt(role), fmt(module), fmt(brick), fmt(ratio), goal, status))
    return rows


def fmt(value) -> str:
    return "-" if value is None else ("%g" % value if isinstance(value, float) else str(value))


def counts(entry: dict) -> str:
    found = entry.get("samples")
    if not found:
        return "-"
    return "%d/%d" % (len(found["ours"]), len(found["os_brick"]))


def markdown(summary: dict, meta: dict, notes: list) -> str:
    lines = ["# Benchmark: cinder_local.iscsi_multipath vs os-brick 7.1.1", "",
             "Generated by `bench/run.sh` (do not edit by hand).", "",
             "| | |", "| --- | --- |"]
    for key in META:
        if key in meta:
            lines.append("| %s | %s |" % (key, meta[key]))
    lines += ["", "What users run (medians; ratio = role or playbook / os-brick, or / `cinder local-attach` for the second "
              "anchor; the single `iscsi_volume` call beside it):", "",
              "| measure | role, playbook | iscsi_volume call | os-brick | ratio | goal | status |",
              "| --- | --- | --- | --- | --- | --- | --- |"] + user_rows(summary)
    lines += ["", "Medians; ratio = ours / os-brick; n = samples (ours/os-brick).", "",
              "| measure | ours via | ours | os-brick | ratio | n | goal | status |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, (label, via, goal, _check) in MEASURES.items():
        entry = summary.get(name, {})
        via = entry.get("via", via)
        lines.append("| %s `%s` | %s | %s | %s | %s | %s | %s | %s |" % (
            label, name, via, fmt(entry.get("ours")), fmt(entry.get("os_brick")),
            fmt(entry.get("ratio")), counts(entry), goal, goal_status(name, summary)))
    lines += ["", "Details:", "", "| measure | ours | os-brick | ratio | n |",
              "| --- | --- | --- | --- | --- |"]
    for name, label in EXTRA.items():
        if name in summary:
            entry = summary[name]
            lines.append("| %s `%s` | %s | %s | %s | %s |" % (
                label, name, fmt(entry["ours"]), fmt(entry["os_brick"]), fmt(entry["ratio"]),
                counts(entry)))
    if notes:
        lines += ["", "Notes:", ""] + ["- " + note for note in notes]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("raw", help="raw samples, JSON lines")
    parser.add_argument("--json", required=True)
    parser.add_argument("--md", required=True)
    args = parser.parse_args()
    samples, meta, notes = load(args.raw)
    summary = summarise(samples, meta)
    with open(args.json, "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=1, sort_keys=True)
        handle.write("\n")
    with open(args.md, "w", encoding="utf-8") as handle:
        handle.write(markdown(summary, meta, notes))


if __name__ == "__main__":
    main()
