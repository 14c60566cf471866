-- Réseau COOP reporting: SQL views for BI tools (Metabase, Grafana, Superset).
--
-- Every view reads the ACTIVE generation of the fact model (reporting_state.active_generation),
-- so a rebuild that projects into a new generation is switched in without changing the views.
-- The views hold no personal information (names and emails of ambassadors never reach the
-- reporting service). They are portable SQL (SQLite and PostgreSQL); the reporting service
-- drops and creates them at start-up (services/reporting/facts.py, create_bi_views).
--
-- Conventions: dates are business dates (YYYY-MM-DD); a membership period or an ambassador
-- span is [start, end), its end being the first day it no longer holds; an activity's
-- status is scheduled or cancelled, and indicators only count scheduled activities.
--
-- Each statement ends with a semicolon at the end of a line; comments start with two dashes.

-- reporting_v_cooperatives
-- One row per cooperative with its current profile (name, NEQ, region "01".."17", sector,
-- worker_members), joined_on (start of its first membership period), left_on (end of its
-- last period, null while a period is open) and status (active while a period is open,
-- else left).
DROP VIEW IF EXISTS reporting_v_cooperatives;
CREATE VIEW reporting_v_cooperatives AS
SELECT
    c.cooperative_id,
    c.name,
    c.neq,
    c.region,
    c.sector,
    c.worker_members,
    (SELECT MIN(p.start_on)
       FROM reporting_membership_periods p
      WHERE p.generation = c.generation AND p.cooperative_id = c.cooperative_id) AS joined_on,
    CASE
        WHEN EXISTS (SELECT 1
                       FROM reporting_membership_periods p
                      WHERE p.generation = c.generation
                        AND p.cooperative_id = c.cooperative_id
                        AND p.end_on IS NULL)
        THEN NULL
        ELSE (SELECT MAX(p.end_on)
                FROM reporting_membership_periods p
               WHERE p.generation = c.generation AND p.cooperative_id = c.cooperative_id)
    END AS left_on,
    CASE
        WHEN EXISTS (SELECT 1
                       FROM reporting_membership_periods p
                      WHERE p.generation = c.generation
                        AND p.cooperative_id = c.cooperative_id
                        AND p.end_on IS NULL)
        THEN 'active'
        ELSE 'left'
    END AS status
FROM reporting_cooperatives c
WHERE c.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);

-- reporting_v_membership_periods
-- One row per membership period of a cooperative, [start_on, end_on), with the cooperative's
-- current region, sector and worker_members. A cooperative is active on day d when one of its
-- periods has start_on <= d and (end_on is null or end_on > d). start_on is null only for a
-- departure whose admission the projection never received.
DROP VIEW IF EXISTS reporting_v_membership_periods;
CREATE VIEW reporting_v_membership_periods AS
SELECT
    p.cooperative_id,
    p.period_number,
    p.start_on,
    p.end_on,
    c.region,
    c.sector,
    c.worker_members
FROM reporting_membership_periods p
LEFT JOIN reporting_cooperatives c
       ON c.generation = p.generation AND c.cooperative_id = p.cooperative_id
WHERE p.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);

-- reporting_v_activities
-- One row per scheduled activity - type (formation, courtepointe, service_conseil, conference,
-- reseautage, cine_discussion, parcours_coop, autre), title, activity_date, region (may be null
-- for a remote activity), format, status (scheduled or cancelled) - with its number of member
-- attendance records, their participants, and its public attendance (people not counted
-- through a member cooperative).
DROP VIEW IF EXISTS reporting_v_activities;
CREATE VIEW reporting_v_activities AS
SELECT
    a.activity_id,
    a.type,
    a.title,
    a.activity_date,
    a.region,
    a.format,
    CASE WHEN a.cancelled THEN 'cancelled' ELSE 'scheduled' END AS status,
    a.member_attendances,
    a.participants,
    (SELECT COALESCE(SUM(u.attendee_count), 0)
       FROM reporting_public_attendances u
      WHERE u.generation = a.generation AND u.activity_id = a.activity_id) AS public_attendance
FROM reporting_activities a
WHERE a.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1)
  AND a.scheduled;

-- reporting_v_activity_partners
-- One row per partner of an activity, as written (partner) and as compared when counting
-- distinct partners (partner_key, trimmed and case-folded).
DROP VIEW IF EXISTS reporting_v_activity_partners;
CREATE VIEW reporting_v_activity_partners AS
SELECT
    r.activity_id,
    r.partner,
    r.partner_key
FROM reporting_activity_partners r
WHERE r.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);

-- reporting_v_attendance
-- One row per member attendance record (a cooperative at an activity) with its participants,
-- its activity's type and date (an attendance's date is its activity's date) and the
-- activity's status (scheduled or cancelled).
DROP VIEW IF EXISTS reporting_v_attendance;
CREATE VIEW reporting_v_attendance AS
SELECT
    t.activity_id,
    t.cooperative_id,
    t.participants,
    COALESCE(a.type, t.activity_type) AS activity_type,
    COALESCE(a.activity_date, t.activity_date) AS activity_date,
    CASE WHEN a.cancelled THEN 'cancelled' ELSE 'scheduled' END AS activity_status
FROM reporting_attendances t
LEFT JOIN reporting_activities a
       ON a.generation = t.generation AND a.activity_id = t.activity_id
WHERE t.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);

-- reporting_v_public_attendance
-- One row per public attendance record (film-discussion audiences, Parcours COOP entrepreneurs)
-- with its count, the region recorded with it (recorded_region, may be null), the region it is
-- counted in (region - the recorded one, else the activity's) and its activity's type, date
-- and status. public_attendance_id is the id of the event that recorded it.
DROP VIEW IF EXISTS reporting_v_public_attendance;
CREATE VIEW reporting_v_public_attendance AS
SELECT
    u.event_id AS public_attendance_id,
    u.activity_id,
    u.attendee_count,
    u.region AS recorded_region,
    COALESCE(u.region, a.region) AS region,
    a.type AS activity_type,
    a.activity_date,
    CASE WHEN a.cancelled THEN 'cancelled' ELSE 'scheduled' END AS activity_status
FROM reporting_public_attendances u
LEFT JOIN reporting_activities a
       ON a.generation = u.generation AND a.activity_id = u.activity_id
WHERE u.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);

-- reporting_v_ambassadors
-- One row per ambassador (no name or email) - cooperative, enrolled_on, ended_on (retirement
-- or deactivation, the first day no longer an ambassador), status (active, retired,
-- deactivated) - with the number of actions and the people they reached.
DROP VIEW IF EXISTS reporting_v_ambassadors;
CREATE VIEW reporting_v_ambassadors AS
SELECT
    m.ambassador_id,
    m.cooperative_id,
    m.enrolled_on,
    m.ended_on,
    CASE WHEN m.ended_on IS NULL THEN 'active' ELSE m.end_reason END AS status,
    (SELECT COUNT(*)
       FROM reporting_ambassador_actions x
      WHERE x.generation = m.generation AND x.ambassador_id = m.ambassador_id) AS actions,
    (SELECT COALESCE(SUM(x.people_reached), 0)
       FROM reporting_ambassador_actions x
      WHERE x.generation = m.generation AND x.ambassador_id = m.ambassador_id) AS people_reached
FROM reporting_ambassadors m
WHERE m.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);

-- reporting_v_ambassador_actions
-- One row per ambassador action - kind (cine_discussion, presentation, kiosque, mentorat,
-- autre), performed_on, the activity it relates to (may be null) and people_reached (0 when
-- not given). action_event_id is the id of the event that logged it.
DROP VIEW IF EXISTS reporting_v_ambassador_actions;
CREATE VIEW reporting_v_ambassador_actions AS
SELECT
    x.event_id AS action_event_id,
    x.ambassador_id,
    x.kind,
    x.performed_on,
    x.activity_id,
    x.people_reached
FROM reporting_ambassador_actions x
WHERE x.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);
