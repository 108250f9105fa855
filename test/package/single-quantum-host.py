"""A SingleQuantumExecutor-style host, as a pipeline developer writes it in their own project.

Run from outside the quantum-butler repository (test/package/install.test.ts copies it into a
temporary project): it imports the pip-installed client and lets it find the sidecar in the
project's node_modules/.bin. Prints one JSON line for the test to check.
"""
import json

import quantum_butler
from quantum_butler import Client, NotPredictedOutputError, QuantumBackedButler, make_ref, serialized_quantum

raws = [make_ref("raw", {"instrument": "Cam", "detector": d}, "raw/run") for d in (1, 2)]
calexp = make_ref("calexp", {"instrument": "Cam", "detector": 1}, "out/run")
quantum = serialized_quantum("demo.Calibrate", inputs={"raw": raws}, outputs={"calexp": [calexp]})

with Client(timeout=30) as client:
    # The upstream step's outputs, in a datastore this quantum's session shares.
    with QuantumBackedButler.from_predicted(client, [], raws, datastore_name="shared", notifications=[]) as seed:
        for ref in raws:
            seed.put({"flux": 10 * ref["dataId"]["dataId"]["detector"]}, ref)

    butler = QuantumBackedButler.initialize(client, quantum, datastore_name="shared")
    stored = butler.stored_many(raws)  # the executor checks every predicted input first
    total = sum(butler.get(ref)["flux"] for ref in raws if stored[ref])  # the task runs
    butler.put({"total": total}, calexp)
    read_back = butler.get(calexp)
    try:
        butler.put({"total": 0}, make_ref("calexp", {"instrument": "Cam", "detector": 9}, "out/run"))
        refused = None
    except NotPredictedOutputError as exc:
        refused = type(exc).__name__
    provenance = butler.extract_provenance_data()
    native = butler.close()
    print(json.dumps({
        "client_module": quantum_butler.__file__,
        "cli_path": client.connection.cli_path,
        "cli_source": client.connection.cli_source,
        "stored": [stored[ref] for ref in raws],
        "read_back": read_back,
        "refused": refused,
        "provenance": provenance,
        "native_outputs": native["actualOutputs"] if native else None,
        "ids": {"raws": [r["id"] for r in raws], "calexp": calexp["id"]},
    }))
