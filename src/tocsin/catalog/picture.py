"""A layered layout of the recovery order for a server-side SVG: one column per depth, left to right."""

from dataclasses import dataclass

NODE_WIDTH, NODE_HEIGHT = 180, 44
COLUMN_GAP, ROW_GAP, MARGIN = 70, 18, 12
LABEL_LENGTH = 24


@dataclass
class Node:
    x: int
    y: int
    position: int
    label: str
    title: str
    tier: int


@dataclass
class Edge:
    path: str  # an SVG path from the dependency's right side to the dependent's left side


@dataclass
class Picture:
    width: int
    height: int
    node_width: int
    node_height: int
    nodes: list
    edges: list


def _short(name):
    return name if len(name) <= LABEL_LENGTH else name[: LABEL_LENGTH - 1] + "…"


def layout(steps):
    """Place RecoverySteps: column = depth (what it waits for sits left of it), rows in recovery order."""
    columns = {}
    for step in steps:
        columns.setdefault(step.depth, []).append(step)
    places = {}
    for depth, column in columns.items():
        for row, step in enumerate(column):
            places[step.service.pk] = (
                MARGIN + depth * (NODE_WIDTH + COLUMN_GAP), MARGIN + row * (NODE_HEIGHT + ROW_GAP),
            )
    nodes = [
        Node(*places[step.service.pk], step.position, _short(step.service.name), step.service.name, step.service.tier)
        for step in steps
    ]
    edges = []
    for step in steps:
        x2, y2 = places[step.service.pk]
        for before in step.waits_for:
            x1, y1 = places[before.pk]
            start_x, start_y, end_y = x1 + NODE_WIDTH, y1 + NODE_HEIGHT // 2, y2 + NODE_HEIGHT // 2
            bend = (start_x + x2) // 2
            edges.append(Edge(f"M{start_x},{start_y} C{bend},{start_y} {bend},{end_y} {x2 - 4},{end_y}"))
    width = MARGIN * 2 + (max(columns, default=0) + 1) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP
    height = MARGIN * 2 + max((len(c) for c in columns.values()), default=1) * (NODE_HEIGHT + ROW_GAP) - ROW_GAP
    return Picture(width, height, NODE_WIDTH, NODE_HEIGHT, nodes, edges)
