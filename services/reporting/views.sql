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
-- Records are shown as corrected (contract §10): periods as they stand after corrections,
-- activities with their revised fields; withdrawn records (attendance, public attendance,
-- ambassador actions, sector-table actions) are left out. A voided cooperative (a record
-- made by mistake) is listed with status 'voided'; the indicators count it nowhere, nor its
-- attendance, ambassadors and their actions. The facts' history (every version with the
-- instant it was recorded, for figures "as recorded") is in the *_history tables.
--
-- Each statement ends with a semicolon at the end of a line; comments start with two dashes.

-- reporting_v_cooperatives
-- One row per cooperative with its current profile (name, NEQ, region "01".."17", sector,
-- worker_members), joined_on (start of its first membership period), left_on (end of its
-- last period, null while a period is open) and status (voided for a record made by mistake,
-- else active while a period is open, else left).
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
                        AND p.start_on IS NOT NULL
                        AND p.end_on IS NULL)
        THEN NULL
        ELSE (SELECT MAX(p.end_on)
                FROM reporting_membership_periods p
               WHERE p.generation = c.generation AND p.cooperative_id = c.cooperative_id)
    END AS left_on,
    CASE
        WHEN c.voided THEN 'voided'
        WHEN EXISTS (SELECT 1
                       FROM reporting_membership_periods p
                      WHERE p.generation = c.generation
                        AND p.cooperative_id = c.cooperative_id
                        AND p.start_on IS NOT NULL
                        AND p.end_on IS NULL)
        THEN 'active'
        ELSE 'left'
    END AS status
FROM reporting_cooperatives c
WHERE c.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);

-- reporting_v_membership_periods
-- One row per membership period of a cooperative as it stands after corrections,
-- [start_on, end_on), with the cooperative's current region, sector and worker_members. A
-- voided cooperative's periods are left out (they count nowhere). A cooperative is active on
-- day d when one of its periods has start_on <= d and (end_on is null or end_on > d).
-- start_on is null only for a departure whose admission the projection never received.
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
WHERE p.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1)
  AND (p.start_on IS NOT NULL OR p.end_on IS NOT NULL)
  AND NOT p.voided;

-- reporting_v_activities
-- One row per scheduled activity - type (formation, courtepointe, service_conseil, conference,
-- reseautage, cine_discussion, parcours_coop, autre), title, activity_date, region (may be null
-- for a remote activity), format, status (scheduled or cancelled) - with its number of member
-- attendance records, their participants, and its public attendance (people not counted
-- through a member cooperative), withdrawn records left out.
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
      WHERE u.generation = a.generation
        AND u.activity_id = a.activity_id
        AND NOT u.withdrawn) AS public_attendance
FROM reporting_activities a
WHERE a.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1)
  AND a.scheduled;

-- reporting_v_activity_partners
-- One row per partner of an activity, as written (partner) and as compared when counting
-- distinct partners (partner_key: normalized - apostrophes and dashes unified, NFKC,
-- case-folded, white space collapsed, trimmed). A key equal to a directory partner's name or
-- alias so normalized (reporting_v_partners) is that partner in the indicators.
DROP VIEW IF EXISTS reporting_v_activity_partners;
CREATE VIEW reporting_v_activity_partners AS
SELECT
    r.activity_id,
    r.partner,
    r.partner_key
FROM reporting_activity_partners r
WHERE r.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);

-- reporting_v_attendance
-- One row per member attendance record (a cooperative at an activity) not withdrawn, with its
-- participants, its activity's current type and date (an attendance's date is its activity's
-- date), the activity's status (scheduled or cancelled) and whether its cooperative is voided.
DROP VIEW IF EXISTS reporting_v_attendance;
CREATE VIEW reporting_v_attendance AS
SELECT
    t.activity_id,
    t.cooperative_id,
    t.participants,
    COALESCE(a.type, t.activity_type) AS activity_type,
    COALESCE(a.activity_date, t.activity_date) AS activity_date,
    CASE WHEN a.cancelled THEN 'cancelled' ELSE 'scheduled' END AS activity_status,
    CASE WHEN c.voided THEN 1 ELSE 0 END AS cooperative_voided
FROM reporting_attendances t
LEFT JOIN reporting_activities a
       ON a.generation = t.generation AND a.activity_id = t.activity_id
LEFT JOIN reporting_cooperatives c
       ON c.generation = t.generation AND c.cooperative_id = t.cooperative_id
WHERE t.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1)
  AND NOT t.withdrawn;

-- reporting_v_public_attendance
-- One row per public attendance record not withdrawn (film-discussion audiences, Parcours
-- COOP entrepreneurs) with its count, the region recorded with it (recorded_region, may be
-- null), the region it is counted in (region - the recorded one, else the activity's) and its
-- activity's type, date and status. public_attendance_id is the record's id (for a record made
-- before v2, the id of the event that recorded it).
DROP VIEW IF EXISTS reporting_v_public_attendance;
CREATE VIEW reporting_v_public_attendance AS
SELECT
    u.record_id AS public_attendance_id,
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
WHERE u.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1)
  AND NOT u.withdrawn;

-- reporting_v_ambassadors
-- One row per ambassador (no name or email) - cooperative, enrolled_on, ended_on (retirement
-- or deactivation, the first day no longer an ambassador), status (active, retired,
-- deactivated) - with the number of its actions not withdrawn and the people they reached.
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
      WHERE x.generation = m.generation
        AND x.ambassador_id = m.ambassador_id
        AND NOT x.withdrawn) AS actions,
    (SELECT COALESCE(SUM(x.people_reached), 0)
       FROM reporting_ambassador_actions x
      WHERE x.generation = m.generation
        AND x.ambassador_id = m.ambassador_id
        AND NOT x.withdrawn) AS people_reached
FROM reporting_ambassadors m
WHERE m.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);

-- reporting_v_ambassador_actions
-- One row per ambassador action not withdrawn, as corrected - kind (cine_discussion,
-- presentation, kiosque, mentorat, autre), performed_on, the activity it relates to (may be
-- null) and people_reached (0 when not given). action_id is the action's id (for an action
-- logged before v2, the id of the event that logged it); action_event_id is the same value,
-- under its earlier name.
DROP VIEW IF EXISTS reporting_v_ambassador_actions;
CREATE VIEW reporting_v_ambassador_actions AS
SELECT
    x.action_id AS action_event_id,
    x.action_id,
    x.ambassador_id,
    x.kind,
    x.performed_on,
    x.activity_id,
    x.people_reached
FROM reporting_ambassador_actions x
WHERE x.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1)
  AND NOT x.withdrawn;

-- reporting_v_sectors
-- The sector list: one row per sector slug with its French and English labels.
DROP VIEW IF EXISTS reporting_v_sectors;
CREATE VIEW reporting_v_sectors AS
SELECT
    r.slug,
    r.label_fr,
    r.label_en
FROM reporting_sectors r
WHERE r.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);

-- reporting_v_partners
-- The partner directory: one row per partner - name, kind (developpement_economique,
-- economie_sociale, reseau_cooperatif, recherche, detaillant, institution, autre), region
-- (may be null), aliases (a JSON list of other names it goes by), website, status (active or
-- inactive).
DROP VIEW IF EXISTS reporting_v_partners;
CREATE VIEW reporting_v_partners AS
SELECT
    r.partner_id,
    r.name,
    r.kind,
    r.region,
    r.aliases,
    r.website,
    CASE WHEN r.active THEN 'active' ELSE 'inactive' END AS status
FROM reporting_partners r
WHERE r.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);

-- reporting_v_research_projects
-- One row per research project - title, theme, partner_ids (a JSON list of partner ids),
-- started_on, ended_on (null while under way) and status (ongoing or completed). A project is
-- under way on every day from started_on to ended_on, both included.
DROP VIEW IF EXISTS reporting_v_research_projects;
CREATE VIEW reporting_v_research_projects AS
SELECT
    r.project_id,
    r.title,
    r.theme,
    r.partner_ids,
    r.started_on,
    r.ended_on,
    CASE WHEN r.ended_on IS NULL THEN 'ongoing' ELSE 'completed' END AS status
FROM reporting_research_projects r
WHERE r.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);

-- reporting_v_sector_tables
-- One row per sector table - name, sector slug, formed_on, dissolved_on (the first day it no
-- longer exists, null while active), status (active or dissolved) - with its current members,
-- its actions not withdrawn and its open retail placements.
DROP VIEW IF EXISTS reporting_v_sector_tables;
CREATE VIEW reporting_v_sector_tables AS
SELECT
    g.table_id,
    g.name,
    g.sector,
    g.formed_on,
    g.dissolved_on,
    CASE WHEN g.dissolved_on IS NULL THEN 'active' ELSE 'dissolved' END AS status,
    (SELECT COUNT(*)
       FROM reporting_sector_table_members m
      WHERE m.generation = g.generation
        AND m.table_id = g.table_id
        AND m.left_on IS NULL) AS members,
    (SELECT COUNT(*)
       FROM reporting_sector_table_actions x
      WHERE x.generation = g.generation
        AND x.table_id = g.table_id
        AND NOT x.withdrawn) AS actions,
    (SELECT COUNT(*)
       FROM reporting_retail_placements p
      WHERE p.generation = g.generation
        AND p.table_id = g.table_id
        AND p.ended_on IS NULL) AS open_retail_placements
FROM reporting_sector_tables g
WHERE g.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);

-- reporting_v_sector_table_members
-- One row per span of a cooperative at a sector table, [joined_on, left_on) (left_on is the
-- first day it no longer belongs, null while it does).
DROP VIEW IF EXISTS reporting_v_sector_table_members;
CREATE VIEW reporting_v_sector_table_members AS
SELECT
    m.table_id,
    m.cooperative_id,
    m.joined_on,
    m.left_on
FROM reporting_sector_table_members m
WHERE m.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);

-- reporting_v_sector_table_actions
-- One row per sector-table action not withdrawn - kind (visibilite, representation,
-- mutualisation, autre), title, performed_on, partner_ids (a JSON list of partner ids).
DROP VIEW IF EXISTS reporting_v_sector_table_actions;
CREATE VIEW reporting_v_sector_table_actions AS
SELECT
    x.action_id,
    x.table_id,
    x.kind,
    x.title,
    x.performed_on,
    x.partner_ids
FROM reporting_sector_table_actions x
WHERE x.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1)
  AND NOT x.withdrawn;

-- reporting_v_retail_placements
-- One row per retail placement (space reserved for a table's products at a retailer, a
-- directory partner of kind detaillant): started_on, ended_on (the first day it no longer
-- holds, null while open) and status (open or ended).
DROP VIEW IF EXISTS reporting_v_retail_placements;
CREATE VIEW reporting_v_retail_placements AS
SELECT
    p.placement_id,
    p.table_id,
    p.retailer_id,
    p.started_on,
    p.ended_on,
    CASE WHEN p.ended_on IS NULL THEN 'open' ELSE 'ended' END AS status
FROM reporting_retail_placements p
WHERE p.generation = (SELECT s.active_generation FROM reporting_state s WHERE s.id = 1);
