"""Workshop mode: a live, multi-team commissioning simulation on one shared store.

Facilitators run workshops of 20-100 people in teams in their real roles (the Havering and Waltham
Forest simulations, HSJ 1 Dec 2005). Three layers, each usable and tested on its own:

- :mod:`pbc_lib.workshop.engine`: pure functions. A scenario (the fictional Wyndmoor PCT, its
  localities as the teams' clusters), the decisions a team can take each round with their costs,
  the random events drawn once from the workshop's seed (the same for every team), and the outcome
  of a round computed with the models the workbooks use. A round replays exactly from the stored
  decisions.
- :mod:`pbc_lib.workshop.store`: the shared store (SQLAlchemy Core). Embedded SQLite in WAL mode by
  default, PostgreSQL by URL; one schema and one migration path for both. One submission per team
  per round, each in one transaction.
- :mod:`pbc_lib.apps.workshop_console` and :mod:`pbc_lib.apps.workshop_team`: the facilitator's
  console and the team app (ipywidgets, served by Voilà).
"""
