import { BitsError } from '../bits-vocabulary.ts';
import type { Command } from '../command.ts';

/**
 * The Windows bitsadmin switches openbits does not implement (bits-client.md §12): they answer
 * E_NOTIMPL saying why, instead of "unknown switch", and `/help SWITCH` says the same. They are
 * left out of the /help list, which names them on one line.
 */

const WHY = {
  acl: 'ACL propagation copies Windows owner, group and ACL information of SMB sources, which openbits does not read',
  certificate: 'client certificates come from Windows certificate stores',
  httpMethod: 'custom HTTP methods (IBackgroundCopyJobHttpOptions2) are not implemented',
  peers: 'peer caching (BITS 3.0, deprecated in Windows) is not implemented',
  helperToken: 'helper tokens are Windows access tokens',
  validation: 'content validation belongs to peer caching, which is not implemented',
} as const;

function unsupported(name: string, args: string, why: string): Command {
  return {
    name,
    syntax: `/${name} ${args}`,
    summary: `Not supported by openbits (E_NOTIMPL): ${why}`,
    async run() {
      throw new BitsError('E_NOTIMPL', `/${name} is not supported by openbits (E_NOTIMPL): ${why}`);
    },
  };
}

const setAclFlags = unsupported('setaclflags', '<job> <flags O|G|D|S>', WHY.acl);

/** The 19 switches, by the names Windows bitsadmin documents. */
export const UNSUPPORTED_COMMANDS: readonly Command[] = [
  setAclFlags,
  unsupported('getaclflags', '<job>', WHY.acl),
  unsupported('setclientcertificatebyid', '<job> <store_location> <store_name> <hexadecimal_cert_id>', WHY.certificate),
  unsupported('setclientcertificatebyname', '<job> <store_location> <store_name> <subject_name>', WHY.certificate),
  unsupported('getclientcertificate', '<job>', WHY.certificate),
  unsupported('removeclientcertificate', '<job>', WHY.certificate),
  unsupported('sethttpmethod', '<job> <method>', WHY.httpMethod),
  unsupported('gethttpmethod', '<job>', WHY.httpMethod),
  unsupported('setpeercachingflags', '<job> <value>', WHY.peers),
  unsupported('getpeercachingflags', '<job>', WHY.peers),
  unsupported('sethelpertoken', '<job> <user> <password>', WHY.helperToken),
  unsupported('sethelpertokenflags', '<job> <flags>', WHY.helperToken),
  unsupported('gethelpertokenflags', '<job>', WHY.helperToken),
  unsupported('gethelpertokensid', '<job>', WHY.helperToken),
  unsupported('setvalidationstate', '<job> <file_index> <true|false>', WHY.validation),
  unsupported('getvalidationstate', '<job> <file_index>', WHY.validation),
  unsupported('cache', '/help | /list | /info | /delete | /deleteurl | /clear | …', WHY.peers),
  unsupported('peercaching', '/help | /getconfigurationflags | /setconfigurationflags', WHY.peers),
  unsupported('peers', '/help | /list | /discover | /clear', WHY.peers),
];

/** `/setaclflag`: the name Windows documents the page under (its syntax line says /setaclflags). */
export const UNSUPPORTED_ALIASES: ReadonlyArray<readonly [string, Command]> = [['setaclflag', setAclFlags]];
