"""Generation: what a case can be and how inputs become cases. The step grammar and its bounds
(grammar), the byte decoder every engine feeds (decode), and hypothesis's strategies
(strategies). Imports only the core (sim, impls, oracle)."""
