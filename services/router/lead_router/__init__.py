"""Router: assigns every lead to a team and a rep by data-driven rules, and says why."""
