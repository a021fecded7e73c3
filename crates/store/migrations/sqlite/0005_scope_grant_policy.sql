-- Who may allow a scope on a client or key. Existing scopes become
-- restricted: the grants already made keep working, and from now on only an
-- administrator adds them until one marks a scope self-service.
ALTER TABLE scope_definitions ADD COLUMN grant_policy TEXT NOT NULL DEFAULT 'restricted';
-- Resource permissions are user-delegated unless an administrator lets
-- clients and API keys hold them.
ALTER TABLE scope_definitions ADD COLUMN machine_grantable BOOLEAN NOT NULL DEFAULT FALSE;
