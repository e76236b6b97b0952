"""An IO manager that keeps asset outputs in the archive, partition-aware.

An output is stored once, content-addressed; a ref per partition key (`refs/<asset>/<partition>.json`) points at
it, so a range run writes one object and a later run over any sub-range finds its partitions' objects.
"""


import json

import dagster as dg

from clash_pipeline.archive.raw_codec import CONTENT_TYPE, decode_raws, encode_raws
from clash_pipeline.archive.store import ArchiveKeyError
from clash_pipeline.defs.resources import ArchiveResource
from clash_pipeline.sources.http import RawResponse

UNPARTITIONED = "__all__"


def _partitions(context: dg.OutputContext | dg.InputContext) -> list[str]:
    return list(context.asset_partition_keys) if context.has_asset_partitions else [UNPARTITIONED]


class ArchiveIOManager(dg.ConfigurableIOManager):
    """Stores lists of raw responses verbatim (other outputs as JSON) in the archive."""

    archive: ArchiveResource

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        archive = self.archive.get_archive()
        asset = "/".join(context.asset_key.path)
        partitions = _partitions(context)
        if isinstance(obj, list) and all(isinstance(item, RawResponse) for item in obj):
            payload, content_type = encode_raws(obj), CONTENT_TYPE
        else:
            payload, content_type = json.dumps(obj, sort_keys=True, default=str).encode(), "application/json"
        label = partitions[0] if len(partitions) == 1 else f"{partitions[0]}..{partitions[-1]}"
        ref = archive.put(asset, [label], payload, content_type)
        for partition in partitions:
            archive.put_ref(f"{asset}/{partition}", [ref], {"partitions": [partitions[0], partitions[-1]],
                                                             "run_id": context.run_id})
        context.add_output_metadata({
            "archive/key": dg.MetadataValue.path(ref.key),
            "archive/stored_bytes": ref.stored_bytes,
            "archive/raw_bytes": ref.raw_bytes,
            "archive/sha256": ref.sha256,
        })

    def load_input(self, context: dg.InputContext) -> object:
        archive = self.archive.get_archive()
        asset = "/".join(context.asset_key.path)
        refs = {}
        for partition in _partitions(context):
            try:
                found = archive.get_ref(f"{asset}/{partition}")
            except ArchiveKeyError:
                raise dg.Failure(f"no archived output of {asset} for partition {partition}: materialize it first") from None
            refs.update({ref.key: ref for ref in found})
        raws: list[RawResponse] = []
        others = []
        for ref in refs.values():
            payload = archive.get(ref.key)
            if ref.content_type == CONTENT_TYPE:
                raws.extend(decode_raws(payload))
            else:
                others.append(json.loads(payload))
        if not others:
            return raws
        return others[0] if len(others) == 1 else others
