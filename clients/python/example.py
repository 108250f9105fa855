"""Spawn the sidecar, seed two inputs, run one quantum on them, print its provenance."""
from quantum_butler import Client, QuantumBackedButler, make_ref, serialized_quantum

raws = [make_ref("raw", {"instrument": "Cam1", "detector": d}, "RUN") for d in (1, 2)]
calexp = make_ref("calexp", {"instrument": "Cam1", "detector": 1}, "RUN")
quantum = serialized_quantum("example.SumTask", inputs={"raw": raws}, outputs={"calexp": [calexp]})

client = Client()  # node dist/src/cli.js --stdio, initialize + initialized
events = []
client.on_provenance(events.append)  # live butler/provenance notifications (dispatcher thread)
# Inputs come from an upstream step: a seeding session writes them to a shared datastore.
with QuantumBackedButler.from_predicted(client, [], raws, datastore_name="shared", notifications=[]) as seed:
    for ref in raws:
        seed.put({"flux": 10 * ref["dataId"]["dataId"]["detector"]}, ref)

with QuantumBackedButler.initialize(client, quantum, datastore_name="shared") as butler:
    print("stored", sorted(butler.stored_many(raws).values()))
    total = sum(butler.get(ref)["flux"] for ref in raws)
    butler.put({"total": total}, calexp)
    print("read back", butler.get(calexp))
    provenance = butler.extract_provenance_data()  # daf_butler QuantumProvenanceData fields
    client.flush_notifications()  # every event sent so far has reached the callback
    for e in events:
        print("event", e["seq"], e["event"], e["datasetType"])
    for name in ("predicted_inputs", "available_inputs", "actual_inputs", "actual_outputs"):
        print(name, provenance[name])
    print("datastore_records", sorted(provenance["datastore_records"]))
print("exit code", client.close())
