-- One database per service: each service owns its data.
CREATE DATABASE intake;
CREATE DATABASE router;
CREATE DATABASE sla_monitor;
