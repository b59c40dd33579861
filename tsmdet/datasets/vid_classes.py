"""The 30 ImageNet VID classes, in the usual index order (category ids are 1-based)."""
from __future__ import annotations

# (name, WordNet id), the order used by the ILSVRC devkit and OpenMMLab.
VID_CLASSES: tuple[tuple[str, str], ...] = (
    ("airplane", "n02691156"), ("antelope", "n02419796"), ("bear", "n02131653"),
    ("bicycle", "n02834778"), ("bird", "n01503061"), ("bus", "n02924116"),
    ("car", "n02958343"), ("cattle", "n02402425"), ("dog", "n02084071"),
    ("domestic_cat", "n02121808"), ("elephant", "n02503517"), ("fox", "n02118333"),
    ("giant_panda", "n02510455"), ("hamster", "n02342885"), ("horse", "n02374451"),
    ("lion", "n02129165"), ("lizard", "n01674464"), ("monkey", "n02484322"),
    ("motorcycle", "n03790512"), ("rabbit", "n02324045"), ("red_panda", "n02509815"),
    ("sheep", "n02411705"), ("snake", "n01726692"), ("squirrel", "n02355227"),
    ("tiger", "n02129604"), ("train", "n04468005"), ("turtle", "n01662784"),
    ("watercraft", "n04530566"), ("whale", "n02062744"), ("zebra", "n02391049"),
)
CLASS_NAMES: tuple[str, ...] = tuple(name for name, _ in VID_CLASSES)
WNID_TO_NAME: dict[str, str] = {wnid: name for name, wnid in VID_CLASSES}
NAME_TO_WNID: dict[str, str] = {name: wnid for name, wnid in VID_CLASSES}
# 1-based category ids, as in COCO-style json
WNID_TO_CATEGORY_ID: dict[str, int] = {wnid: i + 1 for i, (_, wnid) in enumerate(VID_CLASSES)}


def coco_categories() -> list[dict]:
    """Category records for a CocoVID-style json, ids 1..30 in the usual order."""
    return [{"id": i + 1, "name": name, "encode_name": wnid} for i, (name, wnid) in enumerate(VID_CLASSES)]
