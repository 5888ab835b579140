package quartermaster.audit.keys_test

import data.quartermaster.audit.keys

key(manager, state, rotation) := {"kind": "Key", "id": "k", "cloud": "aws", "region": "us-east-1", "key": {"manager": manager, "state": state, "rotationEnabled": rotation}}

test_rotation_off_denied if {
	some f in keys.deny with input.resource as key("customer", "enabled", false)
	f.code == "audit-key-rotation-off"
	f.severity == "medium"
}

test_rotating_key_allowed if {
	count(keys.deny) == 0 with input.resource as key("customer", "enabled", true)
	count(keys.warn) == 0 with input.resource as key("customer", "enabled", true)
}

test_provider_key_ignored if {
	count(keys.deny) == 0 with input.resource as key("provider", "enabled", false)
}

test_disabled_key_warned if {
	some f in keys.warn with input.resource as key("customer", "disabled", false)
	f.code == "audit-key-disabled"
	f.severity == "low"
	count(keys.deny) == 0 with input.resource as key("customer", "disabled", false)
}
