"""Requests in other languages: the script a message is written in (a small rule, no
dependency), genre words as Chinese, Japanese and Korean write them (without spaces between
words, so they are found in the text, not among its word tokens), a few genre names of other
languages that use spaces, and the words around a scene that say it is asked for or liked.

The store's titles are English: a title written in another script is looked up like any other
and, not found, reported as not recognised. Answers are in English except the help, which
has a Chinese version (``language_of`` says "zh")."""

from __future__ import annotations

import re

# Scripts, by code point ranges: Han ideographs (with compatibility ones), kana, Hangul.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# What a title stands in: CJK brackets and the quotes parse.QUOTED reads.
BRACKETED = re.compile(r"《[^》\n]{1,100}》|「[^」\n]{1,100}」|『[^』\n]{1,100}』|\"[^\"\n]{1,100}\"|“[^”\n]{1,100}”")


def language_of(text: str) -> str:
    """"zh", "ja", "ko" or "en" (every other script: answered in English). Counted outside
    brackets and quotes ("我喜欢《Groundhog Day》" is Chinese, "I loved 《土拨鼠之日》" is
    English); one CJK character weighs as much as three Latin letters (a word of each)."""
    text = BRACKETED.sub(" ", text)
    han, kana, hangul = len(_HAN.findall(text)), len(_KANA.findall(text)), len(_HANGUL.findall(text))
    if 3 * (han + kana + hangul) < max(len(_LATIN.findall(text)), 1):
        return "en"
    if hangul > han + kana:
        return "ko"
    return "ja" if kana else "zh"


def unbracketed(text: str) -> str:
    """``text`` with what stands in brackets or quotes blanked (same length: offsets hold)."""
    return BRACKETED.sub(lambda m: " " * len(m.group()), text)


# Genre -> how it is written without spaces (Chinese simplified and traditional, Japanese,
# Korean). Keys are the lower-case genres of scenes.SYNONYMS; the first word of each is the
# one shown in a Chinese answer. Words that are everyday words too ("家庭" family, "剧情" plot,
# "西部" the west) are written with the film word that makes them genres.
UNSPACED: dict[str, tuple[str, ...]] = {
    "sci-fi": ("科幻", "科學幻想", "科学幻想", "サイエンスフィクション", "空想科学", "공상과학", "에스에프"),
    "comedy": ("喜剧", "喜劇", "搞笑", "コメディ", "코미디", "희극"),
    "action": ("动作", "動作", "アクション", "액션"),
    "adventure": ("冒险", "冒險", "アドベンチャー", "모험"),
    "animation": ("动画", "動畫", "动漫", "卡通", "アニメ", "애니메이션"),
    "children's": ("儿童", "兒童", "少儿", "亲子", "子供向け", "어린이"),
    "crime": ("犯罪", "クライム", "범죄"),
    "documentary": ("纪录片", "紀錄片", "纪实", "ドキュメンタリー", "다큐멘터리"),
    "drama": ("剧情片", "劇情片", "文艺片", "ドラマ", "드라마"),
    "fantasy": ("奇幻", "魔幻", "ファンタジー", "판타지"),
    "film-noir": ("黑色电影", "黑色電影", "フィルム・ノワール", "필름누아르"),
    "horror": ("恐怖", "ホラー", "공포", "호러"),
    "musical": ("歌舞片", "音乐剧", "音樂劇", "ミュージカル", "뮤지컬"),
    "mystery": ("悬疑", "懸疑", "推理", "ミステリー", "미스터리"),
    "romance": ("爱情", "愛情", "浪漫", "ロマンス", "恋愛", "로맨스"),
    "thriller": ("惊悚", "驚悚", "スリラー", "스릴러"),
    "war": ("战争片", "戰爭片", "战争", "戰爭", "戦争", "전쟁"),
    "western": ("西部片", "西部劇", "西部剧", "웨스턴"),
}
# Genre names in languages that put spaces between words (read like scenes.SYNONYMS, accents
# folded): the two scenes of the default store, as Spanish, French, German, Italian and
# Portuguese write them.
SPACED: dict[str, tuple[str, ...]] = {
    "sci-fi": ("ciencia ficcion", "fantascienza", "ficcao cientifica"),
    "comedy": ("comedia", "comedias", "comedie", "komodie", "komodien", "commedia", "commedie"),
}
# Around an unspaced scene word: said just before it, it is the one asked for ("推荐一些科幻片")
# or a liked one ("我喜欢喜剧"); said before or after it, it is not wanted ("不要恐怖片",
# "ホラー以外", "공포 말고"): no scene.
ASKING = ("推荐", "推薦", "想看", "来点", "來點", "来些", "來些", "有没有", "有沒有", "有什么", "有什麼",
          "给我", "給我", "找", "求", "おすすめ", "オススメ", "見たい", "추천")
LIKING = ("喜欢", "喜歡", "爱看", "愛看", "我爱", "我愛", "迷", "好き", "좋아")
NOT_BEFORE = ("不要", "不想", "不喜", "不爱", "不愛", "不看", "不太", "别", "別", "除了", "讨厌", "討厭")
NOT_AFTER = ("以外", "じゃない", "말고", "싫", "除外")


def chinese_name(scene: str) -> str | None:
    """A scene as a Chinese answer names it ("Sci-Fi" -> "科幻", "Children's,Animation" -> "儿童、动画")."""
    words = [UNSPACED[g][0] for g in (g.strip().lower() for g in scene.split(",")) if g in UNSPACED]
    return "、".join(words) or None
