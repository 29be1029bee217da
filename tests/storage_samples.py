"""Sample texts, a stand-in Article and the child-process body used by the storage tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from newswatch.storage.db import connect


@dataclass
class Art:
    """Stands in for extraction.Article: the five fields storage reads."""

    text: str
    title: str = "标题"
    published: datetime | None = None
    author: str | None = None
    language: str | None = "zh"


def run_children(target, argument_lists: list[tuple], timeout: float = 120) -> list:
    """Start one spawned process per argument tuple, running ``target(*args, barrier, out)``
    (a barrier shared by all, a queue for their reports); returns the reports once every child
    has exited 0."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(len(argument_lists)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args, barrier, out)) for args in argument_lists]
    for proc in procs:  # they connect (and may migrate an empty database) at once too
        proc.start()
    results = [out.get(timeout=timeout) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    return results


def record_in_child(url: str, jobs: list[tuple[str, str, str]], barrier, out) -> None:
    """Child process body for concurrency tests: connect, then record each (outlet, url, text)
    right after all processes reach the barrier; puts the outcomes on ``out``."""
    try:
        s = connect(url)
        outcomes = []
        for outlet, page_url, body in jobs:
            barrier.wait(timeout=60)
            result = s.record_article(outlet, page_url, Art(body), datetime.now(UTC))
            outcomes.append((result.story_id, result.outcome))
        s.close()
        out.put(("ok", outcomes))
    except BaseException as exc:  # report to the parent instead of dying silently
        out.put(("error", f"{type(exc).__name__}: {exc}"))


ARTICLE_A = """北京时间3月12日，人工智能公司深度求索正式发布新一代大语言模型，并宣布将模型权重以开源协议向开发者开放。公司表示，新模型在数学推理、代码生成和长文本理解等多项基准测试中的成绩接近国际领先水平，而训练成本只有同类模型的一小部分。
据介绍，新模型采用混合专家架构，总参数规模超过六千亿，但每次推理只激活其中约三百亿参数，这让推理成本明显下降。研发团队在技术报告中披露，训练过程使用了约两千块国产加速卡，历时两个月完成，期间通过改进通信调度和低精度训练，把硬件利用率提高到百分之四十以上。
发布当天，多家云服务商宣布上线该模型的调用接口，价格比此前的主流产品低七成左右。一些开发者在社交媒体上分享了测试结果，认为模型在中文写作和复杂指令遵循方面表现突出，但在多轮对话中偶尔出现事实错误。
业内人士认为，开源高性能模型将降低中小企业使用大模型的门槛，也会加剧国内外厂商之间的价格竞争。一位投资人表示，过去一年大模型行业的竞争焦点已经从单纯比拼参数规模，转向比拼推理效率和落地成本，能否建立可持续的商业模式将决定企业的长期竞争力。
公司创始人在发布会上表示，团队下一步将重点投入多模态能力和智能体方向的研究，并计划在今年下半年推出面向企业客户的私有化部署方案。他同时呼吁行业加强安全评测合作，共同制定大模型的风险分级标准。"""

# Same day, same topic (a Chinese LLM release), different story.
ARTICLE_B = """3月12日，国内另一家人工智能企业月之暗面发布了长文本大模型的新版本，称其可以一次性处理两百万字的上下文内容，并面向个人用户免费开放。公司在发布会上演示了模型阅读整本小说、分析上百份财务报表以及总结法律文书的能力。
公司介绍，新版本在注意力机制和显存管理上做了大量优化，使得长文本推理的速度比上一代提高了三倍，同时保持较高的信息检索准确率。研发负责人表示，长上下文能力是智能体执行复杂任务的基础，团队会继续扩展模型的记忆和规划能力。
分析人士指出，大模型企业正在通过差异化功能争夺用户，长文本、多模态和编程助手成为竞争最激烈的几个方向。不过，也有专家提醒，免费策略会带来高昂的算力开支，企业需要尽快找到稳定的收入来源。
据了解，该公司去年完成了新一轮融资，估值超过二十亿美元。公司表示，未来将在教育、金融和政务等领域寻找合作伙伴，推动大模型在实际业务中的应用。"""

ARTICLE_EN = """OpenAI on Tuesday released a new reasoning model that it says solves competition-level math problems far more reliably than its predecessors, while costing less to run.
The company said the model was trained with large-scale reinforcement learning and can spend more time thinking before it answers. Developers can reach it through the API starting today, with rate limits that will be raised over the coming weeks.
Independent researchers who tested an early version said it performed well on coding tasks but still made basic arithmetic slips on long problems."""
