"""The attribute tables of the write gate: how people state a value of an attribute of someone,
in English and Chinese (write/facts.py reads statements with them).

An attribute is single-valued (a person has one: where they live, their age, phone number,
favourite colour, manager, weight, job, employer, name ...) or multi-valued (a person can
have many: allergies, languages, pets, hobbies, places visited ...). Only a new value of a
single-valued attribute of the same subject can replace an old one; a multi-valued relation
is recognised so that an LLM's proposal to replace one of its values can be refused.

Each pattern is a regular expression over the normalised statement (English: lower case,
contractions expanded, single spaces; Chinese: without spaces or punctuation) with the named
groups `pre` (what comes before: the subject and markers such as "now" or 不再), `v` (the
value) and optionally `a` (the attribute's own name, as in "favourite X").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_P = r"(?P<pre>.*?)"  # the subject and markers before the attribute
_END = r"(?P<v>.+)"  # the value: the rest (trimmed by facts.value_of)


@dataclass(frozen=True)
class Attribute:
    key: str  # "residence", "age", "favourite" (+ its own name: "favourite:colour"), ...
    single: bool  # single-valued: a new value replaces the old one
    pattern: re.Pattern  # groups pre, v (and a)
    value: str = "any"  # "any", "number" (digits or Chinese numerals) or "name" (a capitalised word)


def _en(key: str, single: bool, *patterns: str, value: str = "any") -> list[Attribute]:
    return [Attribute(key, single, re.compile(p), value) for p in patterns]


def _zh(key: str, single: bool, *patterns: str, value: str = "any") -> list[Attribute]:
    return [Attribute(key, single, re.compile(p), value) for p in patterns]


_NUM = r"(?P<v>\d{1,3}(?:\.\d+)?)"
_OCCUPATIONS = (
    "nurse|teacher|doctor|physician|surgeon|dentist|pharmacist|vet|veterinarian|engineer|software engineer|developer|"
    "programmer|data scientist|scientist|researcher|lawyer|attorney|accountant|designer|architect|chef|cook|baker|"
    "writer|author|journalist|editor|artist|painter|musician|photographer|pilot|driver|farmer|mechanic|electrician|"
    "plumber|carpenter|firefighter|police officer|consultant|analyst|manager|product manager|salesman|"
    "sales manager|cashier|waiter|waitress|barista|librarian|professor|lecturer|translator|therapist|"
    "psychologist|paramedic|soldier|banker|ceo|cto")  # not student, retired, freelancer: they can go with a job
_ZH_NUM = r"(?P<v>[0-9零〇一二两三四五六七八九十百点.]+)"
_ZH_CHANGE = r"(?:现在|目前|已经|也)?(?:是|改成了|改成|换成了|换成|变成了|变成|改为|换了|成了)"

ENGLISH: list[Attribute] = [
    *_en("residence", True,
         _P + r"\b(?:live|lives|living|reside|resides|residing|moved|relocated|settled)"
              r"(?: back| over| away)?(?: now)?(?: with [a-z ]+?)? (?:in|to|at|into|near) " + _END,
         _P + r"\b(?:home|house|apartment|flat) is (?:now )?(?:in|at|near) " + _END,
         _P + r"\b(?:am|is|are) (?:now |currently )?based in " + _END),
    *_en("age", True,
         _P + r"\bage is (?:now )?" + _NUM + r"\b",
         _P + r"\b(?:am|is|are|turned|just turned) (?:now )?" + _NUM + r"(?: years?| yrs?)?(?: old)?(?: now| today)?$",
         value="number"),
    *_en("phone", True,
         _P + r"\b(?:phone|mobile|cell|telephone|cellphone)(?: number)? "
              r"(?:is now|is|changed to|has changed to) " + _END,
         _P + r"\bnumber (?:is now|is|changed to) (?P<v>[\d +().-]{5,})"),
    *_en("email", True, _P + r"\be ?mail(?: address)? (?:is now|is|changed to) " + _END),
    *_en("address", True, _P + r"\b(?:home |postal |street )?address (?:is now|is|changed to) " + _END),
    *_en("favourite", True,
         _P + r"\bfavou?rite (?P<a>[a-z]+(?: [a-z]+)?) (?:is now|are now|is|are|has become|became) " + _END),
    *_en("manager", True,
         _P + r"\b(?:manager|boss|supervisor|team lead|line manager) (?:is now|is|became|has become) " + _END,
         _P + r"\breport(?:s)? (?:directly )?to " + _END, value="name"),
    *_en("weight", True,
         _P + r"\bweigh(?:s)? (?:now |about |around )?"
              r"(?P<v>\d+(?:\.\d+)? ?(?:kg|kgs|kilos|kilograms|lbs|lb|pounds|stone)?)",
         _P + r"\bweight is (?:now )?(?P<v>.+)"),
    *_en("height", True,
         _P + r"\b(?:am|is|are) (?P<v>\d[\d.]* ?(?:cm|m|ft|feet|foot|inches)[\w ]*?) tall",
         _P + r"\bheight is (?P<v>.+)"),
    *_en("job", True,
         _P + r"\b(?:work|works|working|am employed|is employed|started working) as (?:an? )?" + _END,
         _P + r"\b(?:job|occupation|profession|position|job title) is (?:now )?(?:an? )?" + _END,
         _P + r"\b(?:am|is|are|became|have become|has become) (?:now )?(?:an? )?"
              r"(?P<v>(?:(?!your |his |her |their |our |my |the )[a-z]+ )?(?:" + _OCCUPATIONS
         + r"))(?: now| these days| currently)?$"),
    *_en("employer", True,
         _P + r"\b(?:work|works|working|am employed|is employed|started working|got a job) (?:at|for|by) " + _END,
         _P + r"\b(?:employer|company) is (?:now )?" + _END),
    *_en("name", True,
         _P + r"\bname is (?:now )?" + _END,
         _P + r"\b(?:am|is|are) (?:called|named) " + _END,
         _P + r"\b(?:go|goes) by " + _END, value="name"),
    *_en("spouse", True, _P + r"\b(?:am|is|are) (?:now )?married to " + _END, value="name"),
    *_en("status", True, _P + r"\b(?:am|is|are) (?:now )?(?P<v>single|married|divorced|engaged|widowed|separated)$"),
    *_en("school", True, _P + r"\b(?:study|studies|studying|am enrolled|is enrolled) at " + _END),
    *_en("birthday", True, _P + r"\bbirthday is (?:on )?" + _END),
    *_en("salary", True, _P + r"\b(?:salary is|earn|earns|make|makes) (?:now )?(?P<v>[$€£]?\d[\d,.]*k?\b.*)"),
    # multi-valued relations: never replaced by another value
    *_en("allergy", False, _P + r"\ballergic to " + _END, _P + r"\ballerg(?:y|ies) (?:is |are |to )?" + _END),
    *_en("language", False, _P + r"\b(?:speak|speaks|speaking|am learning|is learning|learn|learning) " + _END),
    *_en("pet", False, _P + r"\b(?:have|has|own|owns|adopted|got) (?:a |an |two |three |\d+ )?(?P<v>(?:dog|cat|puppy|"
                                r"kitten|parrot|rabbit|hamster|fish|turtle|snake|horse|bird)s?\b.*)"),
    *_en("hobby", False, _P + r"\b(?:like|likes|love|loves|enjoy|enjoys|adore|adores|hobby is|hobbies are|into) "
                             + _END),
    *_en("visited", False, _P + r"\b(?:visited|have been to|has been to|went to|traveled to|travelled to) " + _END),
    *_en("eats", False, _P + r"\b(?:eat|eats|drink|drinks) " + _END),
]

CHINESE: list[Attribute] = [
    *_zh("residence", True,
         _P + r"(?:住在|居住在|生活在|定居在|定居|搬到了|搬到|搬去了|搬去|搬家到了|搬家到|搬回了|搬回|住)"
              r"(?!院|宿|店)" + _END),
    *_zh("age", True, _P + _ZH_NUM + r"(?:周)?岁", _P + r"年龄" + _ZH_CHANGE + r"?" + _ZH_NUM, value="number"),
    *_zh("phone", True, _P + r"(?:电话号码|电话|手机号码|手机号|手机)" + _ZH_CHANGE + r"?" + _END),
    *_zh("email", True, _P + r"(?:邮箱|电子邮件|邮件地址|邮箱地址)" + _ZH_CHANGE + r"?" + _END),
    *_zh("address", True, _P + r"(?:地址|住址)" + _ZH_CHANGE + _END),
    *_zh("favourite", True, _P + r"最(?:喜欢|爱)的(?P<a>.{1,6}?)" + _ZH_CHANGE + _END),
    *_zh("manager", True, _P + r"(?:经理|老板|上司|领导|主管)" + _ZH_CHANGE + _END),
    *_zh("weight", True, _P + r"体重(?:现在|目前)?(?:是|有|为|变成了|变成|降到了|降到|涨到了|涨到|减到了|减到)?"
                        + _ZH_NUM + r"(?:公斤|千克|斤|kg)?", value="number"),
    *_zh("height", True, _P + r"身高(?:现在)?(?:是|有|为)?" + _ZH_NUM, value="number"),
    *_zh("job", True, _P + r"(?:工作|职业)" + _ZH_CHANGE + _END,
         _P + r"(?:现在|目前|已经)?(?:是一名|是一位|是名|当上了|当了|成为了一名|成为了|成了一名|改行做|改行当|"
              r"转行做|转行当)" + _END),
    *_zh("employer", True, _P + r"(?:现在|目前|已经)?(?:在|去|到)(?P<v>[^在去到]{1,20}?)(?:工作|上班|任职)了?$",
         _P + r"(?:入职了|入职|加入了)" + _END),
    *_zh("name", True, _P + r"(?:的名字|名字)?(?:叫做|叫)" + _END, _P + r"名字" + _ZH_CHANGE + _END, value="any"),
    *_zh("status", True, _P + r"(?P<v>结婚|离婚|单身|订婚)了?$"),
    *_zh("school", True, _P + r"在(?P<v>.+?)(?:上学|读书|念书|读大学|读研)"),
    *_zh("birthday", True, _P + r"生日" + _ZH_CHANGE + _END),
    *_zh("allergy", False, _P + r"对(?P<v>.+?)过敏", _P + r"过敏(?:源)?是" + _END),
    *_zh("language", False, _P + r"(?:会说|会讲|说|讲|在学|学习|学)(?P<v>.+?(?:语|话|文))$"),
    *_zh("pet", False, _P + r"(?:养了|养着|养|有)(?:一只|一条|两只|三只|一匹|只|条)?"
                             r"(?P<v>(?:狗|猫|小狗|小猫|鹦鹉|兔子|仓鼠|鱼|乌龟|蛇|马|鸟).*)"),
    *_zh("hobby", False, _P + r"(?:喜欢|爱|热爱|爱好是|的爱好是)" + _END),
    *_zh("visited", False, _P + r"(?:去过|到过|游览过|旅游过)" + _END),
    *_zh("eats", False, _P + r"(?:吃|喝)" + _END),
]

# words that come before an attribute and say when or whether it holds, not who
EN_NEGATION = ("no longer", "not any more", "not anymore", "do not", "does not", "did not", "not", "never",
               "stopped", "quit", "no more")
EN_MODALITY = ("used to", "want to", "wants to", "would like to", "hope to", "hopes to", "plan to", "plans to",
               "planning to", "am going to", "is going to", "going to", "will", "would", "might", "may", "could",
               "should", "wish", "dream of", "thinking about", "considering", "am about to", "soon")
EN_FILLER = ("i think", "actually", "currently", "now", "still", "just", "recently", "finally", "also", "really",
             "last month", "last week", "yesterday", "today", "this week", "this month", "please",
             "have", "has", "had", "am", "is", "are", "was", "were", "do", "does", "officially", "already",
             "these days", "nowadays", "at the moment", "as of today", "as of now", "since", "so", "and", "but",
             "by the way", "oh", "well", "yes", "yeah")
ZH_NEGATION = ("不再", "已经不", "没有再", "不", "没有", "没", "别", "停止", "戒了")
ZH_MODALITY = ("以前", "曾经", "过去", "原来", "之前", "想", "要", "打算", "计划", "准备", "希望", "将要", "将", "可能",
               "也许", "会")
# an explicit past date makes a statement an event, not a current value ("I moved to Canada in 2015")
EN_PAST = r"\b(?:in|back in|during) (?:19|20)\d\d\b|\byears ago\b|\bwhen i was\b"
ZH_PAST = r"(?:19|20)\d\d年|前年|小时候|那时候|当年|几年前"
ZH_FILLER = ("现在", "目前", "已经", "刚刚", "刚满", "满", "刚", "终于", "也", "还", "今年", "最近", "都", "就", "又",
             "才", "其实", "正在", "依然", "仍然", "一直", "上个月", "上周", "今天", "昨天", "前几天", "刚才", "新",
             "的")

# who a statement is about: relation words by their canonical name
RELATIONS = {
    "wife": "wife", "husband": "husband", "partner": "partner", "girlfriend": "girlfriend",
    "boyfriend": "boyfriend", "mother": "mother", "mom": "mother", "mum": "mother", "mommy": "mother",
    "father": "father", "dad": "father", "daddy": "father", "sister": "sister", "brother": "brother",
    "son": "son", "daughter": "daughter", "kid": "child", "child": "child", "friend": "friend",
    "grandmother": "grandmother", "grandma": "grandmother", "grandfather": "grandfather", "grandpa": "grandfather",
    "老婆": "妻子", "妻子": "妻子", "太太": "妻子", "爱人": "妻子", "媳妇": "妻子", "老公": "丈夫", "丈夫": "丈夫",
    "先生": "丈夫", "妈妈": "母亲", "母亲": "母亲", "妈": "母亲", "爸爸": "父亲", "父亲": "父亲", "爸": "父亲",
    "姐姐": "姐姐", "姐": "姐姐", "哥哥": "哥哥", "哥": "哥哥", "弟弟": "弟弟", "弟": "弟弟", "妹妹": "妹妹",
    "妹": "妹妹", "儿子": "儿子", "女儿": "女儿", "孩子": "孩子", "朋友": "朋友", "男朋友": "男朋友",
    "女朋友": "女朋友", "奶奶": "奶奶", "爷爷": "爷爷", "外婆": "外婆", "姥姥": "外婆", "外公": "外公",
}
SELF = {"i", "me", "my", "mine", "myself", "the user", "user", "我", "我的", "本人", "自己", ""}
WE = {"we", "us", "our", "我们", "咱们"}  # a household: compared as the speaker ("we moved to Bristol")
EN_ADJECTIVES = {"older", "younger", "little", "big", "elder", "eldest", "oldest", "youngest", "best", "new", "ex",
                 "late", "old", "dear", "baby", "step", "twin", "favourite", "favorite"}
