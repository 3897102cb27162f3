import { Module } from '@nestjs/common';
import { CopyCommand } from './copy.command';
import { KeysCommand, KeysGenerateCommand, KeysShowCommand } from './keys.command';
import { SignCommand } from './sign.command';
import { VerifyCommand } from './verify.command';
import { PolicyCommand } from './policy.command';

@Module({ providers: [CopyCommand, KeysCommand, KeysGenerateCommand, KeysShowCommand, SignCommand, VerifyCommand, PolicyCommand] })
export class CliModule {}
