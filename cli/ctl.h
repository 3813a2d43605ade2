/* ctl – minisocctl subcommands that run the collector's engine offline. */
#ifndef CTL_H
#define CTL_H

/* minisocctl rules check|test ...; returns the exit status. */
int ctl_rules(int argc, char **argv);
/* minisocctl alerts ...; returns the exit status. */
int ctl_alerts(int argc, char **argv);
/* minisocctl replay ...; returns the exit status. */
int ctl_replay(int argc, char **argv);

/* minisocctl search ...; returns the exit status. */
int ctl_search(int argc, char **argv);
/* minisocctl incident new|list|show|note|close ... (ctl_incident.c). */
int ctl_incident(int argc, char **argv);
/* minisocctl report ... (ctl_report.c). */
int ctl_report(int argc, char **argv);
/* minisocctl pki ... (ctl_pki.c); returns the exit status. */
int ctl_pki(int argc, char **argv);

#endif
