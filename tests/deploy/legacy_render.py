"""The overlays must render the same with an old kubectl as with today's. deploy/setup.sh installs
Debian 12's kubernetes-client (kubectl 1.20.2, kustomize v2.0.3) where no kubectl exists, and that
kustomize knows no Components, `labels:` or per-generator options. PARTNER_KUBECTL_LEGACY names
such a kubectl (deploy/README.md shows how to get Debian's); without it this check is skipped."""

import json
import os
import re

import k8s_checks

ENV = "PARTNER_KUBECTL_LEGACY"
# kustomize appends a hash of the content to a generated ConfigMap's or Secret's name, computed
# differently by v2.0.3: the suffix is not compared, the references to the name are.
HASH_SUFFIX = re.compile(r"^(.+)-[a-z0-9]{10}$")


def legacy_kubectl():
    return os.environ.get(ENV) or None


def comparable(objects):
    """{(kind, namespace, name): object} with hash suffixes replaced, and empty metadata labels
    or annotations (v2.0.3 leaves `labels: {}` on a replaced ConfigMap) dropped."""
    renames = {}
    for obj in objects:
        name = obj["metadata"]["name"]
        match = HASH_SUFFIX.match(name)
        if obj["kind"] in ("ConfigMap", "Secret") and match:
            renames[name] = f"{match.group(1)}-<hash>"

    def rename(value):
        if isinstance(value, dict):
            return {key: rename(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rename(item) for item in value]
        return renames.get(value, value) if isinstance(value, str) else value

    by_identity = {}
    for obj in map(rename, objects):
        metadata = obj["metadata"]
        for key in ("labels", "annotations"):
            if metadata.get(key) == {}:
                del metadata[key]
        by_identity[(obj["kind"], metadata.get("namespace", ""), metadata["name"])] = obj
    return by_identity


def first_difference(modern, legacy, path=""):
    """The path of the first difference between two objects, and the two values there."""
    if isinstance(modern, dict) and isinstance(legacy, dict):
        for key in sorted(set(modern) | set(legacy)):
            found = first_difference(modern.get(key), legacy.get(key), f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(modern, list) and isinstance(legacy, list) and len(modern) == len(legacy):
        for index, (left, right) in enumerate(zip(modern, legacy)):
            found = first_difference(left, right, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if modern == legacy else (path.lstrip("."), modern, legacy)


def check(failures, overlay, path, modern_objects, kubectl):
    """The objects `kubectl kustomize path` renders with the legacy kubectl are modern_objects."""
    try:
        legacy_objects = k8s_checks.render(kubectl, path)
    except RuntimeError as error:
        failures.append(f"{overlay}: does not render with {kubectl}: {str(error).strip()}")
        return
    modern, legacy = comparable(modern_objects), comparable(legacy_objects)
    for identity in sorted(set(modern) | set(legacy)):
        what = f"{overlay}: {'/'.join(part for part in identity if part)} with {kubectl}"
        if identity not in legacy:
            failures.append(f"{what}: missing")
        elif identity not in modern:
            failures.append(f"{what}: rendered, but not by today's kustomize")
        elif modern[identity] != legacy[identity]:
            where, want, got = first_difference(modern[identity], legacy[identity])
            failures.append(f"{what}: {where} is {json.dumps(got)}, today's kustomize renders "
                            f"{json.dumps(want)}")
