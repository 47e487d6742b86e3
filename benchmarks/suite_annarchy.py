"""ANNarchy side of ``suite.py``: rebuild a described network in ANNarchy, compile it, time its protocol.

Runs in the interpreter that has ANNarchy (never imports gpunet).  The
description (``suite.describe``) gives the populations (model name, size, every
parameter and variable value), the projections (synapse model and its global
parameters, the synapses post-major with weights and delays) and the protocol
(``calls`` x (set inputs, simulate ``ms``)), and ``num_threads`` when more than ANNarchy's default one
OpenMP thread is wanted.  Synapses are built with
``from_function`` and a ``LILConnectivity`` (one uniform delay per row when
the projection's delay is uniform, so ANNarchy uses its uniform-delay code).
Prints one line ``SUITE-RESULT {json}``.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time

import numpy as np

RESULT_PREFIX = "SUITE-RESULT "


def _population(ann, net, entry, arrays):
    name, size = entry["name"], int(entry["size"])
    if entry["model"] == "Poisson":
        return net.create(ann.PoissonPopulation(size, rates=arrays[f"{name}.rates"], name=name))
    neuron = getattr(ann, entry["model"])
    pop = net.create(size, neuron, name=name)
    for attribute in entry["attributes"]:
        if attribute in pop.attributes:
            value = arrays[f"{name}.{attribute}"]
            setattr(pop, attribute, value.item() if value.ndim == 0 else value)  # globals take scalars
    return pop


def _connectivity(ann, dt, entry, arrays):
    name = entry["name"]
    post_ranks, row_ptr, pre_ranks = (arrays[f"{name}.{k}"] for k in ("post_ranks", "row_ptr", "pre_ranks"))
    weights = arrays[f"{name}.w"]
    delays = arrays.get(f"{name}.delays")
    uniform = entry["uniform_delay"]

    def pattern(pre, post, dt_):
        lil = ann.LILConnectivity(dt=dt_)
        for row, post_rank in enumerate(post_ranks):
            start, stop = int(row_ptr[row]), int(row_ptr[row + 1])
            row_delays = [float(uniform)] if uniform is not None else delays[start:stop].tolist()
            lil.add(int(post_rank), pre_ranks[start:stop].tolist(), weights[start:stop].tolist(), row_delays)
        return lil
    return pattern


def run(description: dict) -> dict:
    import ANNarchy as ann
    arrays = dict(np.load(description["arrays"]))
    started = time.perf_counter()
    net = ann.Network(dt=float(description["dt"]), seed=int(description["seed"]))
    threads = int(description.get("num_threads", 1))
    if threads > 1:
        net.config(num_threads=threads)
    populations = {e["name"]: _population(ann, net, e, arrays) for e in description["populations"]}
    synapses = 0
    for entry in description["projections"]:
        model = entry["synapse"]
        synapse = getattr(ann, model)(**entry["globals"]) if model not in ("DefaultSpiking", "DefaultRate") else None
        proj = net.connect(populations[entry["pre"]], populations[entry["post"]], entry["target"], synapse,
                           name=entry["name"])
        proj.from_function(_connectivity(ann, float(description["dt"]), entry, arrays))
        synapses += len(arrays[f"{entry['name']}.pre_ranks"])
    with tempfile.TemporaryDirectory(prefix="annarchy-suite-") as folder:
        net.compile(directory=folder, silent=True)
        compile_s = time.perf_counter() - started
        inputs = [(target.split("."), arrays[f"input:{target}"]) for target in description["inputs"]]
        start, cpu = time.perf_counter(), time.process_time()
        for call in range(int(description["calls"])):
            for (population, attribute), values in inputs:
                setattr(populations[population], attribute, values[call])
            net.simulate(float(description["ms"]))
        simulate_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
        steps = int(net.current_step)
    return {"version": ann.__release__, "compile_s": compile_s, "simulate_s": simulate_s, "cpu_s": cpu_s, "steps": steps,
            "synapses": synapses, "num_threads": threads}


if __name__ == "__main__":
    print(RESULT_PREFIX + json.dumps(run(json.loads(sys.argv[1]))), flush=True)
