/* Command-line entry points (src/cli/main.c dispatches to these). */
#ifndef TAUNET_CLI_H
#define TAUNET_CLI_H
int tn_cli_help(const char *cmd);
int tn_cli_bench(int argc, char **argv);
int tn_cli_experiment(int argc, char **argv); /* src/cli/experiment.c */
#endif
