from django.template import Context, Template

from statuspage.core.markdown import render_markdown


def test_renders_common_markdown():
    html = render_markdown("## Roll back\n\n1. `make deploy TAG=v1`\n2. **check** the graph")
    assert "<h2>Roll back</h2>" in html
    assert "<code>make deploy TAG=v1</code>" in html
    assert "<strong>check</strong>" in html


def test_strips_scripts_handlers_and_javascript_links():
    html = render_markdown(
        "<script>alert(1)</script><img src=x onerror=alert(2)>"
        "[click](javascript:alert(3)) <a href='https://ok.example' onclick='x()'>ok</a>"
    )
    assert "<script" not in html
    assert "onerror" not in html and "<img" not in html
    assert "javascript:" not in html
    assert "onclick" not in html
    assert 'href="https://ok.example"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_template_filter_outputs_sanitized_html():
    rendered = Template("{% load markdown %}{{ text|markdown }}").render(
        Context({"text": "*hi* <b onclick=x>there</b>"})
    )
    assert rendered == "<p><em>hi</em> there</p>"
