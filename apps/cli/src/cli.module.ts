import { Module } from '@nestjs/common';
import { CopyCommand } from './copy.command';

@Module({ providers: [CopyCommand] })
export class CliModule {}
