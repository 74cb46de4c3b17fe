#!/usr/bin/env python3
"""help_vs_man.py - each program's --help and its man page list the same options.

usage: help_vs_man.py BUILD_DIR SOURCE_DIR

For flocker-agent, flocker-control, mount.flockerfs and flockerctl, the
options named by --help (flockerctl: also "bench --help", "ca --help" and
"--control X --help") are compared with those its man page source
(contrib/man/NAME.8.scd) defines, in both directions; every difference is
printed, and any makes the test fail.
"""
import re
import subprocess
import sys

BUILD, SRC = sys.argv[1], sys.argv[2]
PROGS = {
    "flocker-agent": f"{BUILD}/plugin/flocker-agent",
    "flocker-control": f"{BUILD}/cluster/flocker-control",
    "mount.flockerfs": f"{BUILD}/fs/mount.flockerfs",
    "flockerctl": f"{BUILD}/cluster/flockerctl",
}
OPT = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")


def run(*argv):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return p.stdout + p.stderr


def man_source(name):
    with open(f"{SRC}/contrib/man/{name}.8.scd", encoding="utf-8") as f:
        return f.read()


def man_terms(text, section=None):
    """The definition terms of a man page: lines that start with a bold word
    (scdoc's *...*), in the given "# SECTION" or all of them."""
    terms, cur = [], None
    for line in text.splitlines():
        if line.startswith("# "):
            cur = line[2:].strip()
            continue
        if section and cur != section:
            continue
        if line.startswith("*"):
            terms.append(line)
    return terms


def help_options_getopt(text):
    """--help of a getopt_long program: the option column of the indented lines."""
    found = set()
    for line in text.splitlines():
        m = re.match(r"^\s+((?:-\w, )?--?[a-zA-Z][\w-]*)", line)
        if m:
            found.update(OPT.findall(m.group(1)))
    return found


def man_options_getopt(text):
    found = set()
    for term in man_terms(text, "OPTIONS"):
        # "*-c*, *--conf* _PATH_": the bold words that are options
        found.update(o for o in re.findall(r"\*(--?[a-zA-Z][\w-]*)\*", term))
    return found


def help_options_mount(text):
    """mount.flockerfs --help: "  name=VALUE   text" and "  a, b   text" lines, and -f."""
    found = set()
    for line in text.splitlines():
        m = re.match(r"^  (\S.*?)(?:\s{2,}|$)", line)
        if not m:
            continue
        for word in re.split(r"[,|]\s*|\s+", m.group(1)):
            word = word.split("=")[0]
            if re.fullmatch(r"-?[a-z_]+", word):
                found.add(word)
    return found


def man_options_mount(text):
    found = set()
    for term in man_terms(text, "OPTIONS"):
        for word in re.findall(r"\*([-a-z_]+)\*", term):
            found.add(word)
    found.discard("-o")  # the carrier of the options, in the usage line of --help
    return found


def flockerctl_help():
    bin_ = PROGS["flockerctl"]
    return (run(bin_, "--help") + run(bin_, "bench", "--help") + run(bin_, "ca", "--help")
            + run(bin_, "--control", "127.0.0.1:1", "--help"))


def flockerctl_help_options(text):
    found = set(OPT.findall(text))
    found.discard("-ofsname")
    return found


def flockerctl_man_options(text):
    found = set()
    for line in text.splitlines():
        found.update(re.findall(r"\*(--?[a-zA-Z][\w-]*)\*", line))
    return found


def main():
    bad = 0
    checks = [
        ("flocker-agent", help_options_getopt(run(PROGS["flocker-agent"], "--help")),
         man_options_getopt(man_source("flocker-agent"))),
        ("flocker-control", help_options_getopt(run(PROGS["flocker-control"], "--help")),
         man_options_getopt(man_source("flocker-control"))),
        ("mount.flockerfs", help_options_mount(run(PROGS["mount.flockerfs"], "--help")),
         man_options_mount(man_source("mount.flockerfs"))),
        ("flockerctl", flockerctl_help_options(flockerctl_help()),
         flockerctl_man_options(man_source("flockerctl"))),
    ]
    for name, helpset, manset in checks:
        if not helpset or not manset:
            print(f"{name}: FAIL: no options found (help {len(helpset)}, man {len(manset)})")
            bad += 1
            continue
        only_help = sorted(helpset - manset)
        only_man = sorted(manset - helpset)
        if only_help:
            print(f"{name}: FAIL: in --help, not in the man page: {' '.join(only_help)}")
        if only_man:
            print(f"{name}: FAIL: in the man page, not in --help: {' '.join(only_man)}")
        if only_help or only_man:
            bad += 1
        else:
            print(f"{name}: {len(helpset)} options, the same in --help and the man page")
    print("PASS" if not bad else f"FAIL: {bad} program(s) disagree")
    return 1 if bad else 0


sys.exit(main())
