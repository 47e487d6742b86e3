"""User-facing model descriptions: :class:`Neuron` and :class:`Synapse`."""
from __future__ import annotations

from typing import Any, Optional

from gpunet.model.declarations import equations_text, parameters_text
from gpunet.model.ir import ModelSpec
from gpunet.model.parser import build_spec


class _Description:
    """Common part of Neuron and Synapse: keeps the text, parses it eagerly."""

    kind = "abstract"
    _blocks: tuple[str, ...] = ()

    def __init__(self, name: Optional[str] = None, description: Optional[str] = None,
                 _overrides: Optional[dict] = None, **blocks: Any) -> None:
        self.name = name or f"{self.kind.capitalize()}"
        self.description = description or ""
        self._text = {key: blocks.get(key) for key in self._blocks}
        # ANNarchy 5's object syntax (dicts, Parameter / Variable objects) becomes the text form
        owner = f"{self.kind} model {self.name!r}"
        self._text["parameters"] = parameters_text(self._text.get("parameters"), self.kind, owner)
        self._text["equations"] = equations_text(self._text.get("equations"), self.kind, owner)
        self._overrides = dict(_overrides or {})
        # Parse now: a bad model fails where it is written, not at compile().
        self.spec: ModelSpec = build_spec(self.kind, self.name, self.description,
                                          overrides=self._overrides, **self._text)

    def __call__(self, **overrides: Any) -> "_Description":
        """A copy of this model with other default parameter values.

        >>> from gpunet import Izhikevich
        >>> Izhikevich(a=0.1, d=2.0).spec.attributes["a"].init
        0.1
        """
        merged = {**self._overrides, **overrides}
        return type(self)(name=self.name, description=self.description, _overrides=merged, **self._text)

    @property
    def parameters(self) -> list[str]:
        """Names of the parameters, in declaration order."""
        return self.spec.parameters

    @property
    def variables(self) -> list[str]:
        """Names of the variables, in declaration order (implicit ones last)."""
        return self.spec.variables

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: parameters {self.parameters}, variables {self.variables}>"


class Neuron(_Description):
    """A neuron model written in gpunet's (ANNarchy's) equation language.

    Parameters
    ----------
    parameters : str, list of str or dict
        ``name = value : flags`` per line.  Flag ``population`` makes the
        parameter global (one value per population); ``int`` / ``bool`` set
        the type.  ANNarchy 5's dict form is accepted: a plain value is a
        global parameter, ``gn.Parameter(value, locality="local", type=int)``
        says otherwise.
    equations : str or list of str and Variable
        ``dv/dt = ...``, ``tau * dr/dt + r = ...`` or ``x = ...`` per line, with
        flags ``init = value``, ``min = x``, ``max = y``, ``population`` and an
        integration method (``explicit`` (default), ``exponential``,
        ``midpoint``).  ``gn.Variable("tau * dv/dt + v = 1", init=0.0)``
        objects (ANNarchy 5) may stand for lines.  Conditionals:
        ``r = if v > 0: 1.0 else: 0.0`` (ANNarchy's syntax; ``then`` may
        replace the first colon; nesting allowed).
    spike : str, optional
        Spike condition (spiking neurons), evaluated after integration.
    reset : str, optional
        Statements applied to neurons that spiked.
    refractory : str or float, optional
        Refractory period in ms (a number or a parameter name).
    functions : str, optional
        Helper functions, ``name(x, y) = expression`` per line.
    name, description : str, optional
        Shown in reports and stored in files.

    Raises
    ------
    ModelError
        For an undefined name, a syntax error, a duplicate name, an ODE on a
        parameter or an unknown flag; the message names model, line and text.

    Examples
    --------
    >>> from gpunet import Neuron
    >>> lif = Neuron(parameters="tau = 10.0 : population", equations="tau * dv/dt + v = 1.0",
    ...              spike="v > 0.9", reset="v = 0.0", name="LIF")
    >>> lif.parameters, lif.variables
    (['tau'], ['v', 'r'])
    """

    kind = "neuron"
    _blocks = ("parameters", "equations", "spike", "reset", "refractory", "functions")

    def __init__(self, parameters: Any = None, equations: Any = None, spike: Any = None,
                 reset: Any = None, refractory: Any = None, functions: Any = None,
                 name: Optional[str] = None, description: Optional[str] = None,
                 _overrides: Optional[dict] = None) -> None:
        super().__init__(name=name, description=description, _overrides=_overrides,
                         parameters=parameters, equations=equations, spike=spike, reset=reset,
                         refractory=refractory, functions=functions)

    @property
    def spiking(self) -> bool:
        """True for spiking neurons, False for rate-coded ones."""
        return self.spec.spiking


class Synapse(_Description):
    """A synapse model: weights, plasticity and transmission.

    Parameters
    ----------
    parameters : str
        As for :class:`Neuron`; the global flag is ``projection``.
    equations : str
        Continuous synaptic equations, evaluated every step, or ODEs flagged
        ``event-driven`` (linear decays integrated in closed form at events).
    psp : str, optional
        Rate-coded: the contribution of one synapse to ``sum(target)``
        (default ``w * pre.r``).  Spiking: what a pre-synaptic spike adds to
        ``g_target`` when ``pre_spike`` does not say it (default ``w``).
    pre_spike, post_spike : str, optional
        Statements run when a (delayed) pre-synaptic spike arrives, and when
        the post-synaptic neuron spikes.  ``g_target += ...`` adds to the
        post-synaptic conductance of the projection's target.
    functions, name, description : optional
        As for :class:`Neuron`.

    Every synapse has a local variable ``w`` (the weight).
    """

    kind = "synapse"
    _blocks = ("parameters", "equations", "psp", "pre_spike", "post_spike", "functions")

    def __init__(self, parameters: Any = None, equations: Any = None, psp: Any = None,
                 pre_spike: Any = None, post_spike: Any = None, functions: Any = None,
                 name: Optional[str] = None, description: Optional[str] = None,
                 _overrides: Optional[dict] = None) -> None:
        super().__init__(name=name, description=description, _overrides=_overrides,
                         parameters=parameters, equations=equations, psp=psp, pre_spike=pre_spike,
                         post_spike=post_spike, functions=functions)
