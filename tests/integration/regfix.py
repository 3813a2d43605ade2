"""Register fixtures for the report tests: one system's YAML.

system(sid, name, assets, plan=True, attest=False): a level-3 system of the
new framework with an approved dossier; with plan, an approved plan and all
four layers active (the dated ones valid to 2099: a fixture must not expire
under the test); with attest, two attestations valid to 2099; assets is a
list of (host, is_sensor), each host its own agent.
"""

HEAD = 'province: "Tỉnh thử nghiệm"\n'


def system(sid, name, assets, plan=True, attest=False):
    s = f'''  - id: {sid}
    name: "{name}"
    type: internal
    owner: "Sở Nội vụ"
    operator: "Trung tâm dữ liệu"
    framework: new
    level: 3
    dossier: approved
    decision: {{number: "1/QĐ-UBND", date: 2025-01-02}}
'''
    if plan:
        s += '''    plan: {approved: true, implementation: full}
    layers:
      onsite:     {status: active, evidence: "QĐ 1", valid_until: 2099-06-30}
      monitoring: {status: active, evidence: "minisoc"}
      inspection: {status: active, evidence: "BB 2", valid_until: 2099-06-30}
      national:   {status: active, evidence: "NCSC"}
'''
    if attest:
        s += '''    attestations:
      mfa-admin: {ref: "BB MFA", valid_until: 2099-01-31}
      idle-accounts: {ref: "BB TK", valid_until: 2099-01-31}
'''
    s += '    assets:\n'
    for host, sensor in assets:
        s += f"      - {{host: {host}, agent: {host}{', role: sensor' if sensor else ''}}}\n"
    return s
