"""Which documented statuses did a schemathesis run reach?

    python3 .ci/reached_statuses.py OPENAPI.json UNREACHABLE.txt RUN.har...

Reads the OpenAPI document and the HAR files of the runs (every request and
response), and fails when a documented (method, path, status) was answered
in none of them, unless UNREACHABLE.txt lists it with the reason generated
cases cannot reach it (reliably).
"""

import json
import re
import sys
import urllib.parse


def main(document_path, unreachable_path, *har_paths):
    with open(document_path) as text:
        document = json.load(text)
    documented = set()
    templates = []
    for path, item in document["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", path.replace(".", r"\.")) + "$"
        templates.append((re.compile(pattern), path))
        for method, operation in item.items():
            for status in operation.get("responses", {}):
                documented.add((method.upper(), path, status))

    reached = set()
    for har_path in har_paths:
        with open(har_path) as har:
            for entry in json.load(har)["log"]["entries"]:
                method = entry["request"]["method"].upper()
                path = urllib.parse.urlsplit(entry["request"]["url"]).path
                status = str(entry["response"]["status"])
                for pattern, template in templates:
                    if pattern.match(path):
                        reached.add((method, template, status))

    allowed = {}
    with open(unreachable_path) as listed:
        for line in listed:
            line = line.split("#", 1)
            entry, reason = line[0].split(), (line[1].strip() if len(line) > 1 else "")
            if entry:
                method, path, status = entry
                allowed[(method, path, status)] = reason

    missing = sorted(documented - reached - set(allowed))
    listed_but_reached = sorted(set(allowed) & reached)
    print(f"documented statuses: {len(documented)}, reached: {len(documented & reached)}, "
          f"listed as unreachable: {len(set(allowed) & documented)}")
    for method, path, status in listed_but_reached:
        print(f"  note: {method} {path} {status} is listed as unreachable but was reached")
    if missing:
        print("documented but never reached (reach them, or list them with a reason in "
              f"{unreachable_path}):")
        for method, path, status in missing:
            print(f"  {method} {path} {status}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
