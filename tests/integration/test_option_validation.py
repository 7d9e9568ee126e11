"""Option values that can never work end in one message, and insecure settings are said once per run.

The real modules run through ansible-playbook against the lab. Each bad option must fail the task with a
message that names the option, its value and what to do, with no traceback and no secret in the output;
the bad options are refused before any request (the tasks run in check mode, so that the code before this
check, which sent some of them to the servers, changed nothing either). Each insecure setting (TLS not
verified, a NetBox token over http) must be warned about exactly once in the run's output, however many
requests, tasks or VMs the run makes. Only reads reach the lab PVE here: no reset.
"""

import json
import os
import subprocess
import sys
import uuid

import pytest
import yaml

from ansible_collections.nbsync.proxmox.plugins.module_utils._netbox_client import NetBoxClient

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, '.build', 'collections')
TAG = uuid.uuid4().hex[:6]
MISSING = '/nonexistent-{0}/ca.pem'.format(TAG)
SENT = 'Nothing was sent to any server'

MODULE_DEFAULTS = {
    'group/nbsync.proxmox.proxmox': {
        'api_host': '{{ lab.pve.host }}', 'api_port': '{{ lab.pve.port }}', 'api_user': '{{ lab.pve.token.user }}',
        'api_token_id': '{{ lab.pve.token.token_id }}', 'api_token_secret': '{{ lab.pve.token.secret }}',
        'ca_path': '{{ lab.pve.ca_file }}'},
    'group/nbsync.proxmox.pbs': {
        'pbs_api_host': '{{ lab.pbs.host }}', 'pbs_api_port': '{{ lab.pbs.port }}',
        'pbs_api_user': '{{ lab.pbs.token.user }}', 'pbs_api_token_id': '{{ lab.pbs.token.token_id }}',
        'pbs_api_token_secret': '{{ lab.pbs.token.secret }}', 'pbs_ca_path': '{{ lab.pbs.ca_file }}'},
}

CLONE = {'name': 'it-val-' + TAG, 'template': 'debian12-cloudinit'}
SYNC = {'netbox_url': '{{ lab.netbox.url }}', 'netbox_token': '{{ lab.netbox.token }}',
        'limit_clusters': ['it-val-none-' + TAG],
        'clusters': [{'name': 'dc-val', 'api_host': '{{ lab.pve.host }}', 'api_port': '{{ lab.pve.port }}',
                      'api_user': '{{ lab.pve.token.user }}', 'api_token_id': '{{ lab.pve.token.token_id }}',
                      'api_token_secret': '{{ lab.pve.token.secret }}', 'ca_path': '{{ lab.pve.ca_file }}'}]}


def _cluster(**changes):
    return [dict(SYNC['clusters'][0], **changes)]


# id, module, options, error type, what the message must say
CASES = [
    # the PVE connection (every PVE module shares these; proxmox_info stands for them)
    ('ca_path_missing', 'proxmox_info', {'ca_path': MISSING}, 'ConfigurationError',
     ["ca_path is '{0}', which does not exist".format(MISSING), "give the PEM file of the CA"]),
    ('api_port_0', 'proxmox_info', {'api_port': 0}, 'ConfigurationError',
     ['api_port is 0, which is not a TCP port; give 1 to 65535 (the default is 8006)']),
    ('api_port_65536', 'proxmox_info', {'api_port': 65536}, 'ConfigurationError',
     ['api_port is 65536, which is not a TCP port']),
    ('api_host_url', 'proxmox_info', {'api_host': 'https://pve1.example.com:8006/'}, 'ConfigurationError',
     ["api_host is 'https://pve1.example.com:8006/', which is not a host name",
      'give the host name or address only, without scheme, port or path (api_host: pve1.example.com, api_port: 8006)']),
    ('api_host_port', 'proxmox_info', {'api_host': 'pve1.example.com:8006'}, 'ConfigurationError',
     ["api_host is 'pve1.example.com:8006', which is not a host name", '(api_host: pve1.example.com, api_port: 8006)']),
    ('api_host_space', 'proxmox_info', {'api_host': 'pve1 pve2'}, 'ConfigurationError',
     ["api_host is 'pve1 pve2', which has white space in it; give the host name or address only"]),
    ('read_timeout_0', 'proxmox_info', {'read_timeout': 0}, 'ConfigurationError',
     ['read_timeout is 0, which is out of range; give more than 0 seconds (the default is 60)']),
    ('connect_timeout_negative', 'proxmox_info', {'connect_timeout': -1}, 'ConfigurationError',
     ['connect_timeout is -1, which is out of range; give more than 0 seconds (the default is 10)']),
    ('retries_negative', 'proxmox_info', {'retries': -1}, 'ConfigurationError',
     ['retries is -1, which is out of range; give 0 or more (the default is 4)']),
    ('fingerprint_malformed', 'proxmox_info', {'fingerprint': 'AB:CD'}, 'ConfigurationError',
     ["fingerprint is 'AB:CD', which is not a SHA-256 fingerprint"]),
    ('two_at_once', 'proxmox_info', {'api_port': 0, 'retries': -2}, 'ConfigurationError',
     ['api_port is 0', 'retries is -2']),
    # the PBS connection
    ('pbs_ca_path_missing', 'pbs_datastore_info', {'pbs_ca_path': MISSING}, 'ConfigurationError',
     ["pbs_ca_path is '{0}', which does not exist".format(MISSING)]),
    ('pbs_api_port_0', 'pbs_datastore_info', {'pbs_api_port': 0}, 'ConfigurationError',
     ['pbs_api_port is 0, which is not a TCP port; give 1 to 65535 (the default is 8007)']),
    ('pbs_api_host_url', 'pbs_datastore_info', {'pbs_api_host': 'https://pbs.example.com:8007'}, 'ConfigurationError',
     ['(pbs_api_host: pbs.example.com, pbs_api_port: 8007)']),
    ('pbs_retries_negative', 'pbs_datastore_info', {'retries': -1}, 'ConfigurationError', ['retries is -1']),
    # modules' own options
    ('clone_vmid_0', 'proxmox_vm_clone', dict(CLONE, vmid=0), 'InvalidParameter',
     ['vmid is 0, which is not a vmid (PVE gives guests 100 to 999999999)', 'leave vmid out']),
    ('clone_vmid_negative', 'proxmox_vm_clone', dict(CLONE, vmid=-7), 'InvalidParameter', ['vmid is -7']),
    ('clone_cores_0', 'proxmox_vm_clone', dict(CLONE, cores=0), 'InvalidParameter',
     ['cores is 0, which is out of range; give 1 or more']),
    ('clone_sockets_negative', 'proxmox_vm_clone', dict(CLONE, sockets=-1), 'InvalidParameter', ['sockets is -1']),
    ('clone_memory_0', 'proxmox_vm_clone', dict(CLONE, memory=0), 'InvalidParameter',
     ['memory is 0, which is out of range; give 16 or more MiB']),
    ('clone_balloon_negative', 'proxmox_vm_clone', dict(CLONE, balloon=-1), 'InvalidParameter', ['balloon is -1']),
    ('clone_swap_negative', 'proxmox_vm_clone', dict(CLONE, swap=-1), 'InvalidParameter', ['swap is -1']),
    ('clone_timeout_0', 'proxmox_vm_clone', dict(CLONE, timeout=0), 'InvalidParameter',
     ['timeout is 0, which is out of range; give more than 0 seconds (the default is 300)']),
    ('clone_shutdown_timeout_negative', 'proxmox_vm_clone', dict(CLONE, shutdown_timeout=-1), 'InvalidParameter',
     ['shutdown_timeout is -1, which is out of range; give 0 or more seconds (the default is 60)']),
    ('clone_nic_tag', 'proxmox_vm_clone', dict(CLONE, nics=[{'bridge': 'vmbr0', 'tag': 5000}]), 'InvalidParameter',
     ['nics[0]: tag is 5000, which is out of range; give 1 to 4094']),
    ('clone_connection_and_option', 'proxmox_vm_clone', dict(CLONE, cores=0, api_port=0), 'ConfigurationError',
     ['api_port is 0', 'cores is 0']),
    ('snapshot_vmid_0', 'proxmox_snapshot', {'vmid': 0, 'snapname': 'val'}, 'InvalidParameter', ['vmid is 0']),
    ('snapshot_timeout_0', 'proxmox_snapshot', {'name': 'it-val', 'snapname': 'val', 'timeout': 0}, 'InvalidParameter',
     ['timeout is 0, which is out of range; give more than 0 seconds (the default is 300)']),
    ('snapshot_info_vmid_negative', 'proxmox_snapshot_info', {'vmid': -5}, 'InvalidParameter', ['vmid is -5']),
    ('ceph_pool_timeout_0', 'ceph_pool', {'name': 'it-val', 'timeout': 0}, 'InvalidParameter', ['timeout is 0']),
    ('pbs_job_timeout_negative', 'pbs_job', {'type': 'verify', 'id': 'it-val', 'store': 'store1', 'timeout': -1},
     'InvalidParameter', ['timeout is -1', '(the default is 600)']),
    # netbox_vm_sync: NetBox, the clusters' credentials, its own limits
    ('sync_netbox_url_no_scheme', 'netbox_vm_sync', dict(SYNC, netbox_url='netbox.example.com'), 'ConfigurationError',
     ["netbox_url is 'netbox.example.com', which is not an http(s) URL",
      'give the URL with its scheme, for example https://netbox.example.com']),
    ('sync_netbox_url_user_info', 'netbox_vm_sync',
     dict(SYNC, netbox_url='htps://admin:pw-{0}-hidden@netbox.example.com'.format(TAG)), 'ConfigurationError',
     ["netbox_url is 'htps://***@netbox.example.com', which is not an http(s) URL"]),
    ('sync_netbox_ca_path_missing', 'netbox_vm_sync', dict(SYNC, netbox_ca_path=MISSING), 'ConfigurationError',
     ["netbox_ca_path is '{0}', which does not exist".format(MISSING)]),
    ('sync_cluster_connection', 'netbox_vm_sync',
     dict(SYNC, clusters=_cluster(ca_path=MISSING, api_port=0, api_host='https://pve1.example.com:8006')),
     'ConfigurationError',
     ["clusters[0] (dc-val): api_host is 'https://pve1.example.com:8006', which is not a host name",
      'clusters[0] (dc-val): api_port is 0, which is not a TCP port',
      "clusters[0] (dc-val): ca_path is '{0}', which does not exist".format(MISSING)]),
    ('sync_concurrency_0', 'netbox_vm_sync', dict(SYNC, concurrency=0), 'InvalidParameter',
     ['concurrency is 0, which is out of range; give 1 or more (the default is 4)']),
    ('sync_timeout_0', 'netbox_vm_sync', dict(SYNC, timeout=0), 'InvalidParameter',
     ['timeout is 0, which is out of range; give more than 0 seconds (the default is 600)']),
    ('sync_shutdown_timeout_negative', 'netbox_vm_sync', dict(SYNC, shutdown_timeout=-1), 'InvalidParameter',
     ['shutdown_timeout is -1, which is out of range; give 0 or more seconds (the default is 120)']),
]


def run_playbook(tmp_path, lab, tasks, name):
    """ansible-playbook with the lab's connection options as module_defaults; returns the process."""
    vars_file = tmp_path / 'lab_vars.json'
    vars_file.write_text(json.dumps({'lab': lab}))
    os.chmod(vars_file, 0o600)
    play = [{'name': name, 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
             'vars_files': [str(vars_file)], 'module_defaults': MODULE_DEFAULTS, 'tasks': tasks}]
    playbook = tmp_path / (name + '.yml')
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false',
               ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_RETRY_FILES_ENABLED='0',
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-v', str(playbook)]
    return subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=1200, check=False)


def keep(results_file, names):
    """A last task that writes the registered results to a file the test reads."""
    content = '{{ ' + '{' + ', '.join("'{0}': {0}".format(n) for n in names) + '} | to_json }}'
    return {'name': 'keep the results', 'check_mode': False,
            'ansible.builtin.copy': {'content': content, 'dest': str(results_file), 'mode': '0600'}}


def secrets_of(lab):
    return [lab['pve']['token']['secret'], lab['pbs']['token']['secret'], lab['netbox']['token'],
            'pw-{0}-hidden'.format(TAG)]


@pytest.fixture(scope='module')
def bad_options_run(lab, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('option-validation')
    tasks = [{'name': case_id, 'nbsync.proxmox.' + module: options, 'check_mode': True,
              'register': case_id, 'ignore_errors': True}
             for case_id, module, options, _type, _texts in CASES]
    results_file = tmp_path / 'results.json'
    tasks.append(keep(results_file, [c[0] for c in CASES]))
    proc = run_playbook(tmp_path, lab, tasks, 'bad-options')
    assert proc.returncode == 0, proc.stdout[-5000:]
    return json.loads(results_file.read_text()), proc.stdout


@pytest.mark.parametrize('case_id,module,options,error_type,texts', CASES, ids=[c[0] for c in CASES])
def test_bad_option_fails_with_one_message(bad_options_run, case_id, module, options, error_type, texts):
    results, _stdout = bad_options_run
    result = results[case_id]
    assert result.get('failed'), '{0}: not refused: {1}'.format(case_id, result)
    for text in texts:
        assert text in result['msg'], result['msg']
    assert result['msg'].endswith(SENT), result['msg']
    assert result.get('error_type') == error_type, result
    assert 'Traceback' not in json.dumps(result) and 'module_stderr' not in result


def test_bad_options_output_has_no_traceback_and_no_secret(bad_options_run, lab):
    _results, stdout = bad_options_run
    assert 'Traceback' not in stdout
    leaked = [s[:4] + '...' for s in secrets_of(lab) if s in stdout]
    assert not leaked, 'secrets in the output: {0}'.format(leaked)
    assert stdout.count(SENT) >= len(CASES)


# ------------------------------------------------------------------------------------ insecure settings

@pytest.fixture(scope='module')
def netbox_vms(lab):
    """A NetBox cluster with three VMs, so that a per-VM warning would show three times."""
    nb = NetBoxClient(lab['netbox']['url'], lab['netbox']['token'])
    ctype = nb.get('virtualization.cluster_types', slug='proxmox') or \
        nb.create('virtualization.cluster_types', [{'name': 'Proxmox', 'slug': 'proxmox'}])[0]
    cluster = nb.create('virtualization.clusters', [{'name': 'it-val-' + TAG, 'type': ctype['id']}])[0]
    vms = nb.create('virtualization.virtual_machines', [
        {'name': 'val{0}-{1}'.format(n, TAG), 'cluster': cluster['id'], 'status': 'active', 'vcpus': 1, 'memory': 512}
        for n in range(3)])
    yield cluster
    nb.delete('virtualization.virtual_machines', [v['id'] for v in vms])
    nb.delete('virtualization.clusters', [cluster['id']])


@pytest.fixture(scope='module')
def insecure_run(lab, netbox_vms, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp('insecure')
    pve = lab['pve']
    netbox_tls = 'https://{0}:{1}'.format(pve['host'], pve['port'])   # a TLS server that is not NetBox
    tasks = [
        {'name': 'PVE without TLS verification, three requests', 'register': 'pve_insecure',
         'nbsync.proxmox.proxmox_info': {'validate_certs': False, 'gather': ['version', 'nodes', 'guests']}},
        {'name': 'again, in a second task', 'register': 'pve_insecure_again',
         'nbsync.proxmox.proxmox_info': {'validate_certs': False, 'gather': ['version']}},
        {'name': 'a pinned fingerprint is not insecure', 'register': 'pve_pinned',
         'nbsync.proxmox.proxmox_info': {'validate_certs': False, 'fingerprint': pve['fingerprint'],
                                         'gather': ['version']}},
        {'name': 'PVE verified', 'register': 'pve_verified', 'nbsync.proxmox.proxmox_info': {'gather': ['version']}},
        {'name': 'PBS without TLS verification', 'register': 'pbs_insecure',
         'nbsync.proxmox.pbs_datastore_info': {'pbs_validate_certs': False}},
        {'name': 'NetBox over http, a cluster without TLS verification, three VMs', 'register': 'sync_insecure',
         'check_mode': True,
         'nbsync.proxmox.netbox_vm_sync': dict(
             SYNC, limit_clusters=[netbox_vms['name']], clusters=_cluster(name=netbox_vms['name'], validate_certs=False),
             defaults={'template': 'debian12-cloudinit', 'storage': 'local-lvm', 'bridge': 'vmbr0'})},
        {'name': 'NetBox over https without TLS verification', 'register': 'sync_netbox_tls_off',
         'check_mode': True, 'ignore_errors': True,
         'nbsync.proxmox.netbox_vm_sync': dict(SYNC, netbox_url=netbox_tls, netbox_validate_certs=False)},
    ]
    results_file = tmp_path / 'results.json'
    tasks.append(keep(results_file, [t['register'] for t in tasks]))
    proc = run_playbook(tmp_path, lab, tasks, 'insecure')
    assert proc.returncode == 0, proc.stdout[-5000:]
    return json.loads(results_file.read_text()), proc.stdout


def _warnings(result, start):
    return [w for w in result.get('warnings') or [] if w.startswith(start)]


def test_pve_without_verification_is_said_once(insecure_run, lab):
    results, stdout = insecure_run
    start = 'validate_certs is false: the TLS certificate of Proxmox VE at {0} is not checked'.format(lab['pve']['host'])
    assert stdout.count('[WARNING]: ' + start) == 1, stdout
    assert len(_warnings(results['pve_insecure'], start)) == 1          # three requests, one warning
    assert len(_warnings(results['pve_insecure_again'], start)) == 1
    assert 'Give ca_path' in _warnings(results['pve_insecure'], start)[0]
    assert not results['pve_pinned'].get('warnings')                  # a pinned certificate is checked
    assert not results['pve_verified'].get('warnings')


def test_pbs_without_verification_is_said_once(insecure_run, lab):
    results, stdout = insecure_run
    start = 'pbs_validate_certs is false: the TLS certificate of Proxmox Backup Server at {0}'.format(lab['pbs']['host'])
    assert stdout.count('[WARNING]: ' + start) == 1, stdout
    assert len(_warnings(results['pbs_insecure'], start)) == 1


def test_sync_warns_once_per_cluster_and_for_http_netbox(insecure_run, lab, netbox_vms):
    results, stdout = insecure_run
    sync = results['sync_insecure']
    assert not sync.get('failed'), sync
    assert len(sync['vms']) == 3                                        # three VMs, planned against the cluster
    cluster = 'clusters[0] ({0}): validate_certs is false: the TLS certificate of Proxmox VE at {1}'.format(
        netbox_vms['name'], lab['pve']['host'])
    http = 'netbox_url {0} is plain http: the NetBox token travels in clear text'.format(lab['netbox']['url'])
    for start in (cluster, http):
        assert stdout.count('[WARNING]: ' + start) == 1, stdout
        assert len(_warnings(sync, start)) == 1
    assert 'loopback' in _warnings(sync, http)[0]


def test_netbox_without_verification_is_said_once(insecure_run, lab):
    results, stdout = insecure_run
    start = 'netbox_validate_certs is false: the TLS certificate of NetBox at https://{0}:{1}'.format(
        lab['pve']['host'], lab['pve']['port'])
    assert stdout.count('[WARNING]: ' + start) == 1, stdout
    assert len(_warnings(results['sync_netbox_tls_off'], start)) == 1
    assert not _warnings(results['sync_netbox_tls_off'], 'netbox_url')   # https: no clear-text warning


def test_insecure_run_has_no_traceback_and_no_secret(insecure_run, lab):
    _results, stdout = insecure_run
    assert 'Traceback' not in stdout
    leaked = [s[:4] + '...' for s in secrets_of(lab) if s in stdout]
    assert not leaked, 'secrets in the output: {0}'.format(leaked)
