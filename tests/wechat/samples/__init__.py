"""XML samples of WeChat app messages (synthetic, in the shape WeChat sends)."""

from pathlib import Path

HERE = Path(__file__).parent


def sample(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def solitaire_xml(talker: str, lines: list[tuple[str, str]], header: str = "#接龙 周五水果团") -> str:
    """A 群接龙 app message's XML as ``talker``'s client sends it: ``lines`` are (author, content)."""
    from xml.sax.saxutils import escape

    title = header + "\n\n" + "\n".join(f"{n}. {content}" for n, (_, content) in enumerate(lines, 1))
    items = "".join(f"<i><u>{author}</u><s>.</s><c>{escape(content)}</c></i>" for author, content in lines)
    return (f"{talker}:\n<?xml version=\"1.0\"?>\n<msg><appmsg appid=\"\" sdkver=\"0\"><title>{escape(title)}</title>"
            f"<type>53</type><extinfo><solitaire_info><![CDATA[<solitaire><s>.</s><au>{talker}</au><hrt>1</hrt>"
            f"<content>{items}</content></solitaire>]]></solitaire_info></extinfo></appmsg>"
            f"<fromusername>{talker}</fromusername></msg>")
