"""Integration fixtures: clients built from the lab description, and the lab's fault controls."""

import pytest
import requests


class LabControl:
    """The /_lab control API of the lab's fakes: faults and resets, driven from the test process."""

    def __init__(self, service):
        self.url = service['control_url'].rstrip('/')
        self.headers = {'X-Lab-Control': service['control_token']}
        self.verify = service['ca_file']

    def call(self, what, body=None):
        response = requests.post('{0}/{1}'.format(self.url, what), json=body or {}, headers=self.headers,
                                 verify=self.verify, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def fault(self, kind, **fields):
        return self.call('fault', dict(fields, kind=kind))

    def reset(self):
        return self.call('reset')


@pytest.fixture(scope='session')
def pve_lab(lab):
    return lab['pve']


@pytest.fixture
def pve_control(pve_lab):
    """Fault control of the lab's PVE; the seeded state is restored after the test."""
    control = LabControl(pve_lab)
    yield control
    control.fault('clear')
    control.reset()


@pytest.fixture(scope='session')
def pbs_lab(lab):
    return lab['pbs']


@pytest.fixture
def pbs_control(pbs_lab):
    control = LabControl(pbs_lab)
    yield control
    control.fault('clear')
    control.reset()


@pytest.fixture(scope='session')
def pve_params(pve_lab):
    """Module-style parameters for PveClient.from_params, as the shared argument spec gives them."""
    def make(token='token', **overrides):
        tok = pve_lab[token]
        params = dict(api_host=pve_lab['host'], api_port=pve_lab['port'], api_user=tok['user'],
                      api_token_id=tok['token_id'], api_token_secret=tok['secret'], validate_certs=True,
                      ca_path=pve_lab['ca_file'], retries=4)
        params.update(overrides)
        return params
    return make
