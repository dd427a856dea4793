"""The probe library: one module per way of probing (http, tcp, tls, dns).

Every probe has the signature
    async def probe(target, *, timeout, session=None, allow_private=False) -> ProbeResult
and never raises for network failures: they come back as "down" results with a detail.
Which probe a check kind runs is said by its module in ``checks.kinds``; the runner
(``checks.runner``) runs them in batches.
"""
