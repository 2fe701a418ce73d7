"""The PDF/A-3 parts of a rendered document, added to a ReportLab canvas before it saves: the XMP metadata
(`pdfaid:part 3`, conformance B, the same title, author, subject, keywords, tool and dates as the Info
dictionary), an sRGB output intent, and the document's canonical JSON as an associated file
(`/AF` in the catalog, `/AFRelationship /Data`, MIME `application/json`) so that software reads what a
person reads.

What this makes and what it does not check: the file is built to the PDF/A-3b rules above (header 1.7, every
font embedded by the renderer, no encryption, no transparency groups), but no conformance validator (veraPDF)
runs here; the sRGB profile is LittleCMS's built-in one as Pillow makes it (ICC v4).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfdoc

ATTACHMENT_MIME = "application/json"
_CATALOG_KEYS = ("AF", "OutputIntents")


@dataclass(frozen=True, slots=True)
class ArchiveInfo:
    """What the Info dictionary and the XMP both say, and the attachment."""

    title: str
    author: str
    subject: str
    keywords: str
    creator: str
    attachment_name: str
    attachment: bytes
    attachment_description: str
    lang: str


def _xmp_date(doc: Any) -> str:
    """The document's own time stamp (the Info dictionary's CreationDate and ModDate) in XMP's form."""
    ts = doc._timeStamp
    y, mo, d, h, mi, s = ts.YMDhms
    sign = "-" if ts.dhh < 0 else "+"
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{sign}{abs(ts.dhh):02d}:{ts.dmm:02d}"


class _PlainStream(pdfdoc.PDFStream):  # type: ignore[misc]
    """A stream written without filters: PDF/A forbids a /Filter key on the metadata stream, and ReportLab's
    streams take the document's default filters (or, given none, write an empty /Filter array)."""

    def format(self, document: Any) -> bytes:
        content: bytes = document.encrypt.encode(self.content)
        dictionary = pdfdoc.PDFDictionary({**self.dictionary.dict, "Length": len(content)})
        head: bytes = pdfdoc.format(dictionary, document)
        return head + b"\nstream\n" + content + b"\nendstream\n"


def _xmp(info: ArchiveInfo, producer: str, when: str) -> bytes:
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>3</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(info.title)}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{escape(info.author)}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(info.subject)}</rdf:li></rdf:Alt></dc:description>
   <dc:language><rdf:Bag><rdf:li>{escape(info.lang)}</rdf:li></rdf:Bag></dc:language>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdf:Producer>{escape(producer)}</pdf:Producer>
   <pdf:Keywords>{escape(info.keywords)}</pdf:Keywords>
   <pdf:Trapped>False</pdf:Trapped>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreatorTool>{escape(info.creator)}</xmp:CreatorTool>
   <xmp:CreateDate>{when}</xmp:CreateDate>
   <xmp:ModifyDate>{when}</xmp:ModifyDate>
   <xmp:MetadataDate>{when}</xmp:MetadataDate>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode()


@functools.cache
def _srgb_profile() -> bytes:
    from PIL import ImageCms

    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def _output_intent(doc: Any) -> Any:
    profile = pdfdoc.PDFStream(pdfdoc.PDFDictionary({"N": 3}), _srgb_profile())
    intent = pdfdoc.PDFDictionary(
        {
            "Type": pdfdoc.PDFName("OutputIntent"),
            "S": pdfdoc.PDFName("GTS_PDFA1"),
            "OutputConditionIdentifier": pdfdoc.PDFString("sRGB IEC61966-2.1"),
            "Info": pdfdoc.PDFString("sRGB IEC61966-2.1"),
            "DestOutputProfile": doc.Reference(profile),
        }
    )
    return pdfdoc.PDFArray([intent])


def _attachment(doc: Any, info: ArchiveInfo, now: dt.datetime) -> Any:
    """The embedded file and its file specification (a reference to it)."""
    stamp = pdfdoc.PDFString(now.strftime("D:%Y%m%d%H%M%S+00'00'"))
    stream = pdfdoc.PDFStream(
        pdfdoc.PDFDictionary(
            {
                "Type": pdfdoc.PDFName("EmbeddedFile"),
                # "/" in a name is written #2F (ReportLab's PDFName leaves it, so the name is spelled here).
                "Subtype": "/" + ATTACHMENT_MIME.replace("/", "#2F"),
                "Params": pdfdoc.PDFDictionary({"Size": len(info.attachment), "ModDate": stamp}),
            }
        ),
        info.attachment,
    )
    ref = doc.Reference(stream)
    spec = pdfdoc.PDFDictionary(
        {
            "Type": pdfdoc.PDFName("Filespec"),
            "F": pdfdoc.PDFString(info.attachment_name),
            "UF": pdfdoc.PDFString(info.attachment_name),
            "Desc": pdfdoc.PDFString(info.attachment_description),
            "AFRelationship": pdfdoc.PDFName("Data"),
            "EF": pdfdoc.PDFDictionary({"F": ref, "UF": ref}),
        }
    )
    return doc.Reference(spec)


def make_archival(canvas: Any, info: ArchiveInfo, now: dt.datetime) -> None:
    """Set the Info dictionary and add the PDF/A-3 parts to the canvas's catalog (call before `save`)."""
    canvas.setTitle(info.title)
    canvas.setAuthor(info.author)
    canvas.setSubject(info.subject)
    canvas.setKeywords(info.keywords)
    canvas.setCreator(info.creator)
    doc = canvas._doc
    catalog = doc.Catalog
    if getattr(catalog, "Names", None) is not None:  # nothing here makes destinations or outlines
        raise RuntimeError("the document already has a name tree; the attachment needs its own")
    spec = _attachment(doc, info, now)
    catalog.Names = pdfdoc.PDFDictionary(
        {
            "EmbeddedFiles": pdfdoc.PDFDictionary(
                {"Names": pdfdoc.PDFArray([pdfdoc.PDFString(info.attachment_name), spec])}
            )
        }
    )
    catalog.AF = pdfdoc.PDFArray([spec])
    catalog.OutputIntents = _output_intent(doc)
    xmp = _xmp(info, doc.info.producer, _xmp_date(doc))
    kinds = {"Type": pdfdoc.PDFName("Metadata"), "Subtype": pdfdoc.PDFName("XML")}
    catalog.Metadata = _PlainStream(pdfdoc.PDFDictionary(kinds), xmp)
    # The catalog writes only the keys it lists; this catalog also has /AF and /OutputIntents.
    catalog.__NoDefault__ = [*type(catalog).__NoDefault__, *_CATALOG_KEYS]
