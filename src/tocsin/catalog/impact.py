"""The impact grid of a business impact analysis: categories × time horizons, each rated 0-4."""

from django.core.exceptions import ValidationError

CATEGORIES = [
    ("financial", "Financial"), ("operational", "Operational"),
    ("legal-regulatory", "Legal and regulatory"), ("reputational", "Reputational"),
]
HORIZONS = ["1h", "4h", "24h", "72h"]
LEVELS = [(0, "none"), (1, "minor"), (2, "moderate"), (3, "major"), (4, "severe")]
LEVEL_NAMES = dict(LEVELS)


def empty_grid():
    return {category: dict.fromkeys(HORIZONS, 0) for category, _ in CATEGORIES}


def clean_impact(value):
    """A complete grid of integer ratings, or {} for "not assessed". Anything else is refused,
    naming the first wrong cell, so that no half-understood grid is stored."""
    if value in (None, {}):
        return {}
    if not isinstance(value, dict):
        raise ValidationError({"impact": "The impact ratings are an object of categories."})
    categories = [name for name, _ in CATEGORIES]
    unknown = sorted(set(value) - set(categories))
    if unknown:
        raise ValidationError({"impact": f"Unknown impact category '{unknown[0]}'; use {', '.join(categories)}."})
    grid = {}
    for category in categories:
        row = value.get(category)
        if not isinstance(row, dict) or set(row) != set(HORIZONS):
            raise ValidationError({"impact": f"Rate '{category}' at every horizon: {', '.join(HORIZONS)}."})
        for horizon in HORIZONS:
            rating = row[horizon]
            if isinstance(rating, bool) or not isinstance(rating, int) or not 0 <= rating <= 4:
                raise ValidationError(
                    {"impact": f"The {category} rating at {horizon} must be 0 (none) to 4 (severe)."}
                )
        grid[category] = {horizon: row[horizon] for horizon in HORIZONS}
    return grid


def falling_ratings(grid):
    """(category label, earlier horizon, its level, later horizon, its level) wherever impact
    falls as an outage goes on: possible, but far more often a slip in the assessment."""
    found = []
    for category, label in CATEGORIES:
        row = grid.get(category) or {}
        for earlier, later in zip(HORIZONS, HORIZONS[1:], strict=False):
            if earlier in row and later in row and row[later] < row[earlier]:
                found.append((label, earlier, LEVEL_NAMES[row[earlier]], later, LEVEL_NAMES[row[later]]))
    return found
