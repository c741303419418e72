#!/usr/bin/env python3
# calendar.py: the CalendarAgent, an MCP server whose find_slot returns the
# first free slot of a given length on a day of a calendar file (JSON:
# working hours and busy intervals, "HH:MM").
#
# usage: calendar.py CALENDAR.json
import json
import os
import sys

sys.dont_write_bytecode = True      # nothing written next to the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcpstdio import ToolError, serve  # noqa: E402

with open(sys.argv[1]) as f:
    cal = json.load(f)


def minutes(hhmm):
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def hhmm(t):
    return "%02d:%02d" % (t // 60, t % 60)


def find_slot(a):
    day, need = str(a.get("date", "")), a.get("minutes", 30)
    if not isinstance(need, int) or need < 1:
        raise ToolError("minutes: a positive integer")
    busy = sorted((minutes(s), minutes(e))
                  for s, e in cal["busy"].get(day, []))
    t, end = minutes(cal["open"]), minutes(cal["close"])
    for s, e in busy:
        if s - t >= need:
            break
        t = max(t, e)
    if end - t < need:
        raise ToolError("no free slot on %s" % day)
    return {"start": "%sT%s" % (day, hhmm(t)),
            "end": "%sT%s" % (day, hhmm(t + need))}


serve("CalendarAgent", {"find_slot": ("first free slot on a day", find_slot)})
