"""Writes world_spec.json (the single source of truth for the shapes world vocabulary).

Run once: python Scripts/training/gen_spec.py  (the JSON is committed; world.py reads it)."""
import json, math, os, re

BACKGROUNDS = {
    "black": [0, 0, 0], "white": [255, 255, 255], "gray": [128, 128, 128],
    "dark blue": [20, 30, 90], "dark green": [20, 70, 30], "brown": [100, 60, 30],
}
COLORS = {
    "red": [220, 40, 40], "green": [40, 190, 60], "blue": [40, 90, 230], "yellow": [240, 220, 40],
    "orange": [245, 140, 30], "purple": [150, 60, 200], "cyan": [40, 210, 220], "white": [245, 245, 245],
}
SHAPES = ["circle", "square", "triangle", "diamond"]
MOTIONS = ["moving left", "moving right", "moving up", "moving down", "bouncing", "orbiting",
           "growing", "shrinking", "spinning", "standing still"]
MIN_CONTRAST = 110.0

def dist(a, b):
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))

allowed = {bg: [c for c, rgb in COLORS.items() if dist(rgb, bgrgb) >= MIN_CONTRAST]
           for bg, bgrgb in BACKGROUNDS.items()}

heldout = []
for si, s in enumerate(SHAPES):
    for ci, c in enumerate(COLORS):
        for mi, m in enumerate(MOTIONS):
            if s == "circle" and m == "spinning":
                continue
            if (si * 3 + ci * 5 + mi * 7) % 13 == 0:
                heldout.append([s, c, m])

SYNONYMS = {
    "shapes": {
        "circle": ["circle", "ball", "disc", "dot", "round shape", "sphere", "orb"],
        "square": ["square", "box", "block", "square shape", "cube"],
        "triangle": ["triangle", "triangular shape", "three-sided shape"],
        "diamond": ["diamond", "rhombus", "diamond shape", "lozenge"],
    },
    "colors": {
        # Everyday words beside the palette names, so MiniLM's neighbourhoods carry the colour
        # ("crimson", "pitch black"); the evaluation also uses words that are in none of these.
        "red": ["red", "crimson", "scarlet", "bright red", "cherry red"],
        "green": ["green", "bright green", "lime green", "emerald green"],
        "blue": ["blue", "bright blue", "royal blue", "cobalt blue"],
        "yellow": ["yellow", "golden yellow", "lemon yellow", "bright yellow"],
        "orange": ["orange", "tangerine", "bright orange", "amber"],
        "purple": ["purple", "violet", "deep purple"],
        "cyan": ["cyan", "aqua", "turquoise", "aquamarine"],
        "white": ["white", "snow white", "pure white", "bright white"],
    },
    "backgrounds": {
        "black": ["black", "pitch black", "jet black", "pure black"],
        "white": ["white", "pure white", "snow white", "bright white"],
        "gray": ["gray", "grey", "mid gray", "neutral grey", "slate grey"],
        "dark blue": ["dark blue", "navy", "navy blue", "midnight blue", "deep blue"],
        "dark green": ["dark green", "forest green", "deep green", "bottle green"],
        "brown": ["brown", "dark brown", "chocolate brown", "earthy brown"],
    },
    "motions": {
        "moving left": ["moving left", "drifting leftwards", "sliding to the left", "travelling to the left", "heading left",
                        "rolling to the left", "going left", "moving to the left"],
        "moving right": ["moving right", "drifting rightwards", "sliding to the right", "travelling to the right", "heading right",
                         "rolling to the right", "going right", "moving to the right"],
        "moving up": ["moving up", "rising", "floating upwards", "drifting up", "climbing upward", "going up", "ascending"],
        "moving down": ["moving down", "falling", "sinking downwards", "drifting down", "descending", "going down", "dropping"],
        "bouncing": ["bouncing", "bouncing up and down", "hopping", "bouncing along", "jumping up and down"],
        "orbiting": ["orbiting", "circling around", "going round in circles", "orbiting the centre", "circling", "moving in a circle"],
        "growing": ["growing", "getting bigger", "expanding", "swelling", "growing larger", "getting larger"],
        "shrinking": ["shrinking", "getting smaller", "contracting", "shrinking away", "dwindling", "becoming smaller"],
        "spinning": ["spinning", "rotating", "turning around", "spinning in place", "twirling", "whirling"],
        "standing still": ["standing still", "not moving", "staying still", "resting in place", "motionless", "stationary", "sitting still"],
    },
}
TEMPLATES = {
    "single": {
        "s0": "{obj} {motion} on a {bg} background",
        "s1": "a {bg} background with {obj} {motion}",
        "s2": "{obj} {motion}, {bg} background",
        "s3": "{motion}: {obj} on a {bg} background",
        "s4": "video of {obj} {motion} against a {bg} backdrop",
        "s5": "on a {bg} background, {obj} is {motion}",
        "s6": "{bg} scene: {obj} {motion}",
        "s7": "there is {obj} {motion} on {bg}",
        "s8": "{bg} backdrop, {obj} {motion}",
        "s9": "{obj} {motion} over a {bg} backdrop",
        "s10": "{obj} {motion} in front of a {bg} background",
        "s11": "a video showing {obj} {motion} on a plain {bg} background",
    },
    "double": {
        "d0": "{obj1} {motion1} and {obj2} {motion2} on a {bg} background",
        "d1": "a {bg} background with {obj1} {motion1} and {obj2} {motion2}",
        "d2": "{obj1} {motion1} while {obj2} is {motion2}, {bg} background",
        "d3": "video of {obj1} {motion1} and {obj2} {motion2} against a {bg} backdrop",
        "d4": "two shapes on {bg}: {obj1} {motion1}, {obj2} {motion2}",
        "d5": "{obj1} {motion1} and {obj2} {motion2} over a {bg} backdrop",
    },
    "object_phrase": "{article} {color} {shape}  (article: a/an/one)",
}

# A wider vocabulary (2026-12-08): more everyday colour, background, shape and motion words and word
# orders, so captions cover more of MiniLM's neighbourhood around each attribute. None of these may use
# a word of samples/everyday_prompts.jsonl that the vocabulary did not already have (checked below):
# that file measures words the model never saw, and must keep doing so.
WIDER_SYNONYMS = {
    "shapes": {
        "circle": ["disk", "bubble", "marble", "bead", "circular shape", "spot"],
        "square": ["crate", "four-sided shape", "square block", "square slab"],
        "triangle": ["arrowhead", "delta shape", "triangular piece", "three-cornered shape"],
        "diamond": ["crystal", "jewel", "kite shape", "rhomb"],
    },
    "colors": {
        "red": ["blood red", "tomato red", "rose red", "vermilion", "fire-engine red", "cardinal red"],
        "green": ["grass green", "leaf green", "kelly green", "apple green", "neon green", "spring green"],
        "blue": ["ultramarine", "electric blue", "cornflower blue", "denim blue", "true blue"],
        "yellow": ["sunflower yellow", "butter yellow", "banana yellow", "sunny yellow", "daffodil yellow", "gold"],
        "orange": ["carrot orange", "marigold", "apricot", "mandarin orange", "flame orange", "sunset orange"],
        "purple": ["plum", "amethyst", "grape purple", "orchid purple", "royal purple", "magenta"],
        "cyan": ["aqua blue", "ice blue", "light turquoise", "bright cyan", "caribbean blue"],
        "white": ["milk white", "pearl white", "chalk white", "alabaster", "paper white", "frost white"],
    },
    "backgrounds": {
        "black": ["onyx", "raven black", "soot black", "obsidian", "deep black", "pitch dark"],
        "white": ["milk white", "chalk white", "paper white", "pearl white", "alabaster"],
        "gray": ["ash grey", "silver grey", "stone grey", "pewter", "steel grey", "smoke grey"],
        "dark blue": ["dark navy", "oxford blue", "prussian blue", "dusky blue", "ocean blue"],
        "dark green": ["pine green", "hunter green", "evergreen", "spruce green", "jungle green"],
        "brown": ["coffee brown", "mocha", "walnut brown", "chestnut brown", "mahogany", "hazel brown"],
    },
    "motions": {
        "moving left": ["sliding left", "shifting to the left", "cruising left", "moving leftwards", "travelling left"],
        "moving right": ["sliding right", "shifting to the right", "cruising right", "moving rightwards", "travelling right"],
        "moving up": ["lifting upward", "rising up", "climbing", "flying up", "moving upwards"],
        "moving down": ["sinking", "dropping down", "moving downwards", "coming down", "falling down"],
        "bouncing": ["bobbing up and down", "bounding", "leaping up and down", "hopping up and down"],
        "orbiting": ["revolving around the middle", "looping around", "tracing a circle", "travelling in a circle"],
        "growing": ["enlarging", "getting larger and larger", "inflating", "swelling up", "scaling up"],
        "shrinking": ["collapsing inward", "getting tinier", "diminishing", "scaling down", "getting smaller and smaller"],
        "spinning": ["twisting around", "turning round and round", "spinning around", "rotating slowly"],
        "standing still": ["at rest", "frozen in place", "completely still", "staying put", "not moving at all"],
    },
}
WIDER_TEMPLATES = {
    "single": {
        "s12": "{obj} is {motion} on a {bg} backdrop",
        "s13": "a clip of {obj} {motion}; the background is {bg}",
        "s14": "a {bg} setting where {obj} is {motion}",
    },
    "double": {
        "d6": "a clip of {obj1} {motion1} and {obj2} {motion2}; the background is {bg}",
    },
}
for group, words in WIDER_SYNONYMS.items():
    for name, extra in words.items():
        SYNONYMS[group][name] += extra
for kind, extra in WIDER_TEMPLATES.items():
    TEMPLATES[kind].update(extra)


def words(text):
    return set(re.findall(r"[a-z'-]+", re.sub(r"\{[a-z0-9]+\}", " ", text.lower())))


def check_everyday_words_stay_unseen():
    """The words of samples/everyday_prompts.jsonl that the narrower vocabulary lacked must stay out."""
    widened = [p for g in WIDER_SYNONYMS.values() for ps in g.values() for p in ps]
    widened += [t for k in WIDER_TEMPLATES.values() for t in k.values()]
    base = {"a", "an", "one"} | {w for g in SYNONYMS.values() for ps in g.values() for p in ps
                                if p not in widened for w in words(p)}
    base |= {w for kind in ("single", "double") for t in TEMPLATES[kind].values() if t not in widened for w in words(t)}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "samples", "everyday_prompts.jsonl")
    unseen = set()
    for line in open(path):
        unseen |= words(json.loads(line)["prompt"]) - base
    clash = {p: sorted(words(p) & unseen) for p in widened if words(p) & unseen}
    assert not clash, f"the wider vocabulary uses words of samples/everyday_prompts.jsonl: {clash}"


check_everyday_words_stay_unseen()

spec = {
    "version": 1,
    "description": "Procedural 'shapes' world used to train the embedded default pipeline. RGB values are 0-255 sRGB "
                   "as rendered (the model sees rgb/127.5-1). Geometry: see Docs/training.md.",
    "backgrounds": BACKGROUNDS,
    "colors": COLORS,
    "shapes": SHAPES,
    "motions": MOTIONS,
    "min_contrast_rgb_distance": MIN_CONTRAST,
    "allowed_colors_per_background": allowed,
    "rules": {
        "objects_per_clip": [1, 2],
        "two_objects_have_different_colors": True,
        "circle_never_spins": True,
        "motion_time": "every motion spans the whole clip: u = frame/(F-1) in [0,1], independent of F",
    },
    "synonyms": SYNONYMS,
    "templates": TEMPLATES,
    "heldout": {
        "templates": ["s7", "s8", "d4"],
        "triples_rule": "(shape_index*3 + color_index*5 + motion_index*7) % 13 == 0, circle/spinning excluded",
        "triples": heldout,
    },
    "geometry": {
        "units": "centres as fractions of width/height; sizes r as fractions of min(H,W); angles in radians",
        "circle": "radius r",
        "square": "half side 0.886 r (same area as the circle), rotated by angle",
        "triangle": "equilateral, apex up at angle 0, circumradius 1.35 r",
        "diamond": "rhombus, half height 1.3 r, half width 0.85 r",
        "antialias": "coverage = clamp(0.5 - signed_distance_in_pixels, 0, 1), pixel centres at (i+0.5)",
        "size_r": "one object: U(0.12,0.18); two objects: U(0.10,0.14)",
    },
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "world_spec.json")
with open(out, "w") as f:
    json.dump(spec, f, indent=1)
print(out, len(heldout), "held-out triples")
print({k: len(v) for k, v in allowed.items()})
