"""Run by the ANNarchy interpreter (not by pytest): build a network in ANNarchy 5, load gpunet's files, dump.

    python annarchy_loads.py STRUCTURE.json OUT.json BUILD_DIR FILE [FILE ...]

``STRUCTURE.json`` names each population's and projection's built-in model (gpunet's names) and constructor
arguments; every projection is connected with the connectivity and delays of the first FILE, since ANNarchy
5.0.4.1 cannot load a file whose connectivity differs from its network's.  For each FILE the network is first
moved away from the file's values (a few steps), then ``net.load(FILE)`` runs with its standard output captured:
``OUT.json`` gets, per file, what ANNarchy printed during the load and every value ANNarchy then holds.
"""
import contextlib
import io
import json
import pickle
import sys

import numpy as np

import ANNarchy as ann

structure_file, out_file, build_dir, *files = sys.argv[1:]
with open(structure_file) as handle:
    structure = json.load(handle)
with open(files[0], "rb") as handle:
    desc = pickle.load(handle)

NEURONS = {"Izhikevich": ann.Izhikevich, "IF_curr_exp": ann.IF_curr_exp, "IF_cond_exp": ann.IF_cond_exp,
           "LeakyIntegrator": ann.LeakyIntegrator}
SYNAPSES = {"STDP": ann.STDP, "Hebb": ann.Hebb, "Oja": ann.Oja, "DefaultSpiking": None, "DefaultRate": None}


def pattern_of(d):
    def pattern(pre, post, dt):
        synapses = ann.LILConnectivity(dt=dt)
        delays = d["delays"]
        for k, post_rank in enumerate(d["post_ranks"]):
            ranks = [int(r) for r in d["pre_ranks"][k]]
            row = [float(delays)] if np.isscalar(delays) else [float(x) for x in delays[k]]
            synapses.add(int(post_rank), ranks, [0.5] * len(ranks), row)
        return synapses
    return pattern


net = ann.Network(dt=structure["dt"], seed=1)
pops = {}
for entry in structure["populations"]:
    name, geometry = entry["name"], tuple(entry["geometry"])
    if entry["model"] == "PoissonNeuron":
        pops[name] = net.create(ann.PoissonPopulation(geometry=geometry, rates=10.0, name=name))
    elif entry["model"] == "SpikeSourceNeuron":
        pops[name] = net.create(ann.SpikeSourceArray(spike_times=entry["spike_times"], name=name))
    else:
        pops[name] = net.create(geometry, NEURONS[entry["model"]](**entry.get("overrides", {})), name=name)
projs = {}
for entry in structure["projections"]:
    synapse = SYNAPSES[entry["synapse"]]
    model = synapse(**entry.get("parameters", {})) if synapse is not None else None
    projs[entry["name"]] = net.connect(pops[entry["pre"]], pops[entry["post"]], entry["target"], model,
                                       name=entry["name"])
    projs[entry["name"]].from_function(pattern_of(desc[entry["name"]]))
net.compile(directory=build_dir, silent=True)


def values(obj, name):
    value = getattr(obj, name)
    if np.isscalar(value):
        return float(value)
    if isinstance(value, np.ndarray) and value.dtype != object:
        return np.asarray(value, dtype=float).ravel().tolist()
    return [np.asarray(row, dtype=float).ravel().tolist() for row in value]


def dump():
    out = {"time_step": int(net.current_step)}
    for name, pop in pops.items():
        # the C++ object's values, as ANNarchy's save reads them (a SpikeSourceArray hides its r from getattr)
        out[name] = {a: values(pop.cyInstance, a) for a in pop.attributes}
    for name, proj in projs.items():
        entry = {a: values(proj, a) for a in dict.fromkeys(proj.attributes)}
        entry["pre_ranks"] = [list(map(int, r)) for r in proj.cyInstance.pre_ranks()]
        entry["post_ranks"] = list(map(int, proj.post_ranks))
        delay = proj.delay
        entry["delays"] = float(delay) if np.isscalar(delay) else [list(map(float, r)) for r in delay]
        out[name] = entry
    return out


result = {}
for path in files:
    net.simulate(3.0)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        net.load(path)
    result[path] = {"printed": printed.getvalue(), "state": dump()}
with open(out_file, "w") as handle:
    json.dump(result, handle)
