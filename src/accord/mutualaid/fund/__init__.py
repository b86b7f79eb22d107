"""A partnership's collaboration fund (issue 6, part 3b): the contribution formula the
partners set, calls for contributions shared by that formula, contributions received,
spending, the balance and what each member owes."""
