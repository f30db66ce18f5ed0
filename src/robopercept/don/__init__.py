"""don: Adrian, Kupcsik, Spies, Neumann. *Efficient and Robust Training of Dense Object Nets for Multi-Object Robot
Manipulation* (ICRA 2022)."""
