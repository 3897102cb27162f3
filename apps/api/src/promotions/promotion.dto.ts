import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { Type } from 'class-transformer';
import { STATES } from '@airlock/promotion';
import { MAX_PLATFORMS_CHOSEN, PLATFORM } from '@airlock/oci';

const STAGE = /^[a-z][a-z0-9-]{0,31}$/;

/** Where images go and why: the part a promotion and a release request share. */
export class StageRouteDto {
  @ApiProperty({ example: 'dev' })
  @Matches(STAGE, { message: 'from must be a stage name' })
  from!: string;

  @ApiProperty({ example: 'qa' })
  @Matches(STAGE, { message: 'to must be a stage name' })
  to!: string;

  @ApiPropertyOptional({ example: 'release 1.4 for QA' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}

export class CreatePromotionDto extends StageRouteDto {
  @ApiProperty({ example: 'dev.example:5000/team/app:1.4', description: 'image in the source stage registry, with tag or digest' })
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  image!: string;

  @ApiPropertyOptional({
    example: ['linux/amd64', 'linux/arm64'],
    description: `only these platforms of a multi-platform image (os/architecture[/variant], 1 to ${MAX_PLATFORMS_CHOSEN}): the target gets an index listing them, with its own digest`,
  })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_PLATFORMS_CHOSEN)
  @Matches(PLATFORM, { each: true, message: 'each platform must be os/architecture[/variant], such as linux/amd64' })
  platforms?: string[];
}

export class ApproveDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  comment?: string;
}

export class RejectDto {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}

export class EmptyDto {}

export class ListPromotionsQuery {
  @ApiPropertyOptional({ enum: STATES })
  @IsOptional()
  @IsIn(STATES)
  state?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @Matches(STAGE)
  stage?: string;

  @ApiPropertyOptional({ description: 'part of a source or target reference, or an exact digest' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  image?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(64)
  requester?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(64)
  cursor?: string;
}
