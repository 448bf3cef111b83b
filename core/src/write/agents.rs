//! Agents and their sessions on the write path: the pure checks of a new or
//! changed agent ([`new_agent`], [`changed_agent`]), and the commands that
//! write them ([`create_agent`], [`update_agent`], the session commands),
//! plus [`check_assignee`], which every assignment passes. Passwords arrive
//! hashed: hashing is slow and never runs on the writer. Sessions are no
//! case's events.

use jiff::Timestamp;

use crate::auth::{Agent, InvalidAgent, Role, Session, check_agent_name, normalize_email};
use crate::store::WriteTxn;
use crate::write::command::{CommandError, Outcome, Refusal, check_name};

/// The changes an `UpdateAgent` asks for; `None` leaves a part as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct AgentChanges<'a> {
    /// A new password's PHC string.
    pub password_hash: Option<&'a str>,
    /// A new role.
    pub role: Option<Role>,
    /// New team memberships.
    pub teams: Option<&'a [String]>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// A new email.
    pub email: Option<&'a str>,
}

/// `teams` checked, without duplicates, in the order given.
fn checked_teams(teams: &[String]) -> Result<Vec<String>, Refusal> {
    let mut out: Vec<String> = Vec::with_capacity(teams.len());
    for team in teams {
        check_name("team", team).map_err(|_| InvalidAgent::Team(team.clone()))?;
        if !out.contains(team) {
            out.push(team.clone());
        }
    }
    Ok(out)
}

fn check_role(role: Role) -> Result<Role, Refusal> {
    if role.is_person() { Ok(role) } else { Err(InvalidAgent::Role(role).into()) }
}

fn check_hash(hash: &str) -> Result<(), Refusal> {
    // A PHC string; anything else could never verify and would lock the agent out.
    if hash.starts_with('$') && hash.len() <= 512 {
        Ok(())
    } else {
        Err(Refusal::Invalid("the password hash must be a PHC string".into()))
    }
}

/// `agent` as it will be stored: name, role and teams checked, email lower
/// case. Pure.
///
/// # Errors
/// [`Refusal::InvalidAgent`] for a bad name, email, role or team, and
/// [`Refusal::Invalid`] for a hash that is not a PHC string.
pub fn new_agent(agent: &Agent) -> Result<Agent, Refusal> {
    check_agent_name(&agent.name)?;
    check_hash(&agent.password_hash)?;
    Ok(Agent {
        name: agent.name.clone(),
        email: normalize_email(&agent.email)?,
        role: check_role(agent.role)?,
        teams: checked_teams(&agent.teams)?,
        password_hash: agent.password_hash.clone(),
        active: agent.active,
        created_at: agent.created_at,
    })
}

/// `agent` with `changes` applied, and whether its sessions must end (a new
/// password, another role, or deactivation). Pure.
///
/// # Errors
/// As [`new_agent`].
pub fn changed_agent(agent: &Agent, changes: &AgentChanges<'_>) -> Result<(Agent, bool), Refusal> {
    let mut next = agent.clone();
    if let Some(hash) = changes.password_hash {
        check_hash(hash)?;
        next.password_hash = hash.to_owned();
    }
    if let Some(role) = changes.role {
        next.role = check_role(role)?;
    }
    if let Some(teams) = changes.teams {
        next.teams = checked_teams(teams)?;
    }
    if let Some(active) = changes.active {
        next.active = active;
    }
    if let Some(email) = changes.email {
        next.email = normalize_email(email)?;
    }
    let ends_sessions = changes.password_hash.is_some() || next.role != agent.role || (agent.active && !next.active);
    Ok((next, ends_sessions))
}

/// Stores a new agent.
///
/// # Errors
/// As [`new_agent`], [`Refusal::AgentExists`], [`Refusal::EmailTaken`], or storage failures.
pub fn create_agent(txn: &mut dyn WriteTxn, agent: &Agent) -> Result<Outcome, CommandError> {
    let agent = new_agent(agent)?;
    if txn.agent(&agent.name)?.is_some() {
        return Err(Refusal::AgentExists(agent.name).into());
    }
    if txn.agent_by_email(&agent.email)?.is_some() {
        return Err(Refusal::EmailTaken(agent.email).into());
    }
    txn.put_agent(&agent)?;
    Ok(Outcome::Agent(agent))
}

/// Changes an agent, ending its sessions when [`changed_agent`] says so.
///
/// # Errors
/// [`Refusal::AgentNotFound`], [`Refusal::EmailTaken`], as [`changed_agent`],
/// or storage failures.
pub fn update_agent(txn: &mut dyn WriteTxn, name: &str, changes: &AgentChanges<'_>) -> Result<Outcome, CommandError> {
    let agent = txn.agent(name)?.ok_or_else(|| Refusal::AgentNotFound(name.to_owned()))?;
    let (next, ends_sessions) = changed_agent(&agent, changes)?;
    if next.email != agent.email
        && let Some(owner) = txn.agent_by_email(&next.email)?
        && owner.name != next.name
    {
        return Err(Refusal::EmailTaken(next.email).into());
    }
    if ends_sessions {
        let ended = txn.remove_agent_sessions(&next.name)?;
        tracing::info!(agent = %next.name, ended, "agent changed; its sessions ended");
    }
    txn.put_agent(&next)?;
    Ok(Outcome::Agent(next))
}

/// Stores a new session, and drops the agent's sessions that have expired.
///
/// # Errors
/// [`Refusal::AgentNotFound`], [`Refusal::AgentInactive`], or storage failures.
pub fn start_session(txn: &mut dyn WriteTxn, session: &Session, now: Timestamp) -> Result<Outcome, CommandError> {
    let agent = txn.agent(&session.agent)?.ok_or_else(|| Refusal::AgentNotFound(session.agent.clone()))?;
    if !agent.active {
        return Err(Refusal::AgentInactive(agent.name).into());
    }
    if session.hash.is_empty() || session.expires_at <= session.created_at {
        return Err(Refusal::Invalid("a session needs a hash and must end after it starts".into()).into());
    }
    for old in txn.agent_sessions(&agent.name)? {
        if old.is_expired(now) {
            txn.remove_session(&old.hash)?;
        }
    }
    txn.put_session(session)?;
    Ok(Outcome::Session(session.clone()))
}

/// Moves a session's `last_seen_at` forward to `at`; [`Outcome::Nothing`] if
/// the session is gone.
///
/// # Errors
/// Storage failures.
pub fn touch_session(txn: &mut dyn WriteTxn, hash: &str, at: Timestamp) -> Result<Outcome, CommandError> {
    let Some(mut session) = txn.session(hash)? else { return Ok(Outcome::Nothing) };
    if at > session.last_seen_at {
        session.last_seen_at = at;
        txn.put_session(&session)?;
    }
    Ok(Outcome::Session(session))
}

/// Removes a session.
///
/// # Errors
/// Storage failures.
pub fn end_session(txn: &mut dyn WriteTxn, hash: &str) -> Result<Outcome, CommandError> {
    txn.remove_session(hash)?;
    Ok(Outcome::Nothing)
}

/// Refuses an assignee that is not an active agent.
///
/// # Errors
/// [`Refusal::UnknownAgent`], or storage failures.
pub fn check_assignee(txn: &dyn WriteTxn, name: &str) -> Result<(), CommandError> {
    match txn.agent(name)? {
        Some(agent) if agent.active => Ok(()),
        _ => Err(Refusal::UnknownAgent(name.to_owned()).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sam() -> Agent {
        Agent {
            name: "sam".into(),
            email: " Sam@Example.com".into(),
            role: Role::Agent,
            teams: vec!["support".into(), "billing".into(), "support".into()],
            password_hash: "$argon2id$v=19$stub".into(),
            active: true,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn new_agents_are_normalised_and_checked() {
        let agent = new_agent(&sam()).unwrap();
        assert_eq!(agent.email, "sam@example.com");
        assert_eq!(agent.teams, ["support", "billing"]);
        let refused = |agent: Agent| new_agent(&agent).unwrap_err().to_string();
        assert!(refused(Agent { name: "Sam".into(), ..sam() }).contains("agent name"));
        assert!(refused(Agent { email: "nope".into(), ..sam() }).contains("email"));
        assert!(refused(Agent { role: Role::Integration, ..sam() }).contains("integration"));
        assert!(refused(Agent { teams: vec!["a b".into()], ..sam() }).contains("team"));
        assert!(refused(Agent { password_hash: "plain text".into(), ..sam() }).contains("PHC"));
        assert!(new_agent(&Agent { role: Role::Lead, ..sam() }).is_ok());
    }

    #[test]
    fn password_role_and_deactivation_end_sessions_and_other_changes_do_not() {
        let agent = new_agent(&sam()).unwrap();
        let ends = |changes: AgentChanges<'_>| changed_agent(&agent, &changes).unwrap().1;
        assert!(ends(AgentChanges { password_hash: Some("$argon2id$new"), ..Default::default() }));
        assert!(ends(AgentChanges { role: Some(Role::Lead), ..Default::default() }));
        assert!(ends(AgentChanges { active: Some(false), ..Default::default() }));
        assert!(!ends(AgentChanges { role: Some(Role::Agent), ..Default::default() }), "same role");
        assert!(!ends(AgentChanges { active: Some(true), ..Default::default() }));
        let teams = ["incident".to_owned()];
        assert!(!ends(AgentChanges { teams: Some(&teams), email: Some("S@x.io"), ..Default::default() }));
        let (next, _) = changed_agent(&agent, &AgentChanges { email: Some("S@X.io"), ..Default::default() }).unwrap();
        assert_eq!(next.email, "s@x.io");
        let refused = changed_agent(&agent, &AgentChanges { role: Some(Role::Integration), ..Default::default() });
        assert!(matches!(refused, Err(Refusal::InvalidAgent(InvalidAgent::Role(Role::Integration)))));
    }
}
