"""Phones that register: each agent's and supervisor's SIP account in the PJSIP realtime tables
Asterisk reads through sorcery (``ps_endpoints``, ``ps_auths``, ``ps_aors``; ``ps_contacts`` holds
the registrations), kept in step with the administration's changes in the same transaction."""
