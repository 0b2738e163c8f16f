# bash completion for partnerctl; installed to share/bash-completion/completions/partnerctl.
# Try it without installing: source client/cli/partnerctl.bash
_partnerctl() {
  local cur prev words cword
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  local global="--target --output --timeout --tls --tls-ca --tls-cert --tls-key --token --correlation-id --help"
  case "${prev}" in
    --output|-o) COMPREPLY=($(compgen -W "table json" -- "${cur}")); return ;;
    --principal-type) COMPREPLY=($(compgen -W "user group service-principal foreign-group" -- "${cur}")); return ;;
    --file|--tls-ca|--tls-cert|--tls-key) COMPREPLY=($(compgen -f -- "${cur}")); return ;;
  esac
  # The group and command are the first two words that are not options or option values.
  local group="" command="" i w skip=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${COMP_WORDS[i]}"
    if ((skip)); then skip=0; continue; fi
    case "${w}" in
      --tls|--help|--all|--dry-run) ;;
      -*) skip=1 ;;
      *) if [[ -z "${group}" ]]; then group="${w}"; elif [[ -z "${command}" ]]; then command="${w}"; fi ;;
    esac
  done
  local words_now=""
  if [[ -z "${group}" ]]; then
    words_now="customers users subscriptions roles ${global}"
  elif [[ -z "${command}" ]]; then
    case "${group}" in
      customers) words_now="list get" ;;
      users) words_now="list create" ;;
      subscriptions) words_now="list get azure" ;;
      roles) words_now="definitions assign assignments revoke batch-assign" ;;
    esac
  else
    case "${group} ${command}" in
      "customers list") words_now="--name-prefix --domain-prefix --page-size --all" ;;
      "users list") words_now="--customer --search" ;;
      "subscriptions list"|"subscriptions get") words_now="--customer" ;;
      "subscriptions azure") words_now="--customer --arm-state" ;;
      "users create") words_now="--customer --upn --display-name" ;;
      "roles definitions") words_now="--customer --subscription" ;;
      "roles assign") words_now="--customer --subscription --resource-group --user --object-id --role --role-id --principal-type --description --dry-run" ;;
      "roles assignments") words_now="--customer --subscription --resource-group --user --object-id" ;;
      "roles revoke") words_now="--customer --assignment-id --subscription --resource-group --user --object-id --role --role-id" ;;
      "roles batch-assign") words_now="--file" ;;
    esac
    words_now="${words_now} ${global}"
  fi
  COMPREPLY=($(compgen -W "${words_now}" -- "${cur}"))
}
complete -F _partnerctl partnerctl
