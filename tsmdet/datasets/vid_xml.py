"""Read and write one ILSVRC2015 per-frame annotation XML (the VID and DET format).

Both the real-data reader and the synthetic generator go through this module, so
the generator writes exactly what the reader is tested to read.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path


class AnnotationError(ValueError):
    """A malformed annotation file; the message names the file and the problem."""


@dataclass
class VIDObject:
    """One box of one frame. Coordinates are pixels, as in the XML (xmax/ymax inclusive-ish)."""

    wnid: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    trackid: int = 0
    occluded: int = 0
    generated: int = 0


@dataclass
class FrameAnnotation:
    folder: str
    filename: str
    width: int
    height: int
    objects: list[VIDObject] = field(default_factory=list)


def _text(node: ET.Element, tag: str, path: Path) -> str:
    child = node.find(tag)
    if child is None or child.text is None or not child.text.strip():
        raise AnnotationError(f"{path}: missing <{tag}>")
    return child.text.strip()


def _number(node: ET.Element, tag: str, path: Path, kind: type = float) -> float:
    raw = _text(node, tag, path)
    try:
        return kind(float(raw)) if kind is int else kind(raw)
    except ValueError:
        raise AnnotationError(f"{path}: <{tag}> is not a number: {raw!r}") from None


def read_frame_xml(path: str | Path) -> FrameAnnotation:
    """Parse one per-frame XML. Raises AnnotationError naming the file on any problem.

    Reads children by tag (the order inside <bndbox> is not fixed in the real data).
    Optional tags (trackid, occluded, generated: absent in DET) default to 0.
    """
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise AnnotationError(f"{path}: file not found") from None
    except (ET.ParseError, OSError) as err:
        raise AnnotationError(f"{path}: unreadable or malformed XML ({err})") from None
    size = root.find("size")
    if size is None:
        raise AnnotationError(f"{path}: missing <size>")
    ann = FrameAnnotation(
        folder=(root.findtext("folder") or "").strip(),
        filename=(root.findtext("filename") or "").strip(),
        width=int(_number(size, "width", path, int)),
        height=int(_number(size, "height", path, int)),
    )
    for obj in root.findall("object"):
        box = obj.find("bndbox")
        if box is None:
            raise AnnotationError(f"{path}: <object> without <bndbox>")
        ann.objects.append(
            VIDObject(
                wnid=_text(obj, "name", path),
                xmin=_number(box, "xmin", path),
                ymin=_number(box, "ymin", path),
                xmax=_number(box, "xmax", path),
                ymax=_number(box, "ymax", path),
                trackid=int(_number(obj, "trackid", path, int)) if obj.find("trackid") is not None else 0,
                occluded=int(_number(obj, "occluded", path, int)) if obj.find("occluded") is not None else 0,
                generated=int(_number(obj, "generated", path, int)) if obj.find("generated") is not None else 0,
            )
        )
    return ann


def write_frame_xml(path: str | Path, ann: FrameAnnotation) -> None:
    """Write one per-frame XML in the ILSVRC2015 VID format (creates parent folders)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = ann.folder
    ET.SubElement(root, "filename").text = ann.filename
    source = ET.SubElement(root, "source")
    ET.SubElement(source, "database").text = "ILSVRC_2015"
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(ann.width)
    ET.SubElement(size, "height").text = str(ann.height)
    for o in ann.objects:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "trackid").text = str(o.trackid)
        ET.SubElement(obj, "name").text = o.wnid
        box = ET.SubElement(obj, "bndbox")
        for tag in ("xmax", "xmin", "ymax", "ymin"):
            ET.SubElement(box, tag).text = str(int(round(getattr(o, tag))))
        ET.SubElement(obj, "occluded").text = str(o.occluded)
        ET.SubElement(obj, "generated").text = str(o.generated)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path)
