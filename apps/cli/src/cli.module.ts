import { Module } from '@nestjs/common';
import { CopyCommand } from './copy.command';
import { KeysCommand, KeysGenerateCommand, KeysShowCommand } from './keys.command';
import { SignCommand } from './sign.command';
import { VerifyCommand } from './verify.command';
import { PolicyCommand } from './policy.command';
import { ApiCommand, ServeCommand, WorkerCommand } from './serve.command';
import { TokensCommand, TokensCreateCommand, TokensListCommand, TokensRevokeCommand } from './tokens.command';
import { SandboxCommand } from './sandbox/sandbox.command';
import { DemoCommand } from './sandbox/demo.command';
import { ConfigCheckCommand, ConfigCommand, ConfigReferenceCommand } from './config.command';
import { BundleCommand, BundleExportCommand, BundleImportCommand, BundleInspectCommand, BundleReceiptCommand } from './bundle.command';
import { AuditCheckpointCommand, AuditCommand, AuditExportCommand, AuditVerifyCommand, AuditVerifyExportCommand } from './audit.command';

import { AuditEventsCommand } from './client/audit-events.command';
import { LoginCommand } from './client/login.command';
import { PromoteCommand } from './client/promote.command';
import { ApproveCommand, CancelCommand, RejectCommand, RetryCommand } from './client/decide.command';
import { StatusCommand } from './client/status.command';
import { PromotionsCommand, PromotionsListCommand } from './client/promotions.command';

import { RELEASE_SUBCOMMANDS, ReleaseCommand } from './client/release.command';

@Module({
  providers: [
    CopyCommand,
    KeysCommand,
    KeysGenerateCommand,
    KeysShowCommand,
    SignCommand,
    VerifyCommand,
    PolicyCommand,
    ServeCommand,
    ApiCommand,
    WorkerCommand,
    TokensCommand,
    TokensCreateCommand,
    TokensRevokeCommand,
    TokensListCommand,
    SandboxCommand,
    DemoCommand,
    ConfigCommand,
    ConfigCheckCommand,
    ConfigReferenceCommand,
    BundleCommand,
    BundleExportCommand,
    BundleImportCommand,
    BundleInspectCommand,
    BundleReceiptCommand,
    AuditCommand,
    AuditVerifyCommand,
    AuditExportCommand,
    AuditCheckpointCommand,
    AuditVerifyExportCommand,
    AuditEventsCommand,
    LoginCommand,
    PromoteCommand,
    ApproveCommand,
    RejectCommand,
    CancelCommand,
    RetryCommand,
    StatusCommand,
    PromotionsCommand,
    PromotionsListCommand,
    ReleaseCommand,
    ...RELEASE_SUBCOMMANDS,
  ],
})
export class CliModule {}
